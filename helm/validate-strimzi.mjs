// Validates Strimzi objects (JSON array on stdin) with the validators that
// @kubernetes-models/strimzi-kafka-operator compiles from Strimzi's CRD schemas.
// Usage: node helm/validate-strimzi.mjs <dir where that package is installed>
// Prints a JSON array of error lines; exits 1 when there is any.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const models = join(process.argv[2], "node_modules", "@kubernetes-models", "strimzi-kafka-operator");
const docs = JSON.parse(readFileSync(0, "utf8"));
const errors = [];
for (const doc of docs) {
  const where = `${doc.kind}/${doc.metadata?.name}`;
  const [group, version] = String(doc.apiVersion).split("/");
  let Model;
  try {
    ({ [doc.kind]: Model } = await import(pathToFileURL(join(models, group, version, `${doc.kind}.js`)).href));
  } catch {
    errors.push(`${where}: no Strimzi schema for ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (error) {
    const details = (error.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
    errors.push(`${where}: ${details.length ? details.join("; ") : error.message}`);
  }
}
process.stdout.write(JSON.stringify(errors));
process.exit(errors.length ? 1 : 0);

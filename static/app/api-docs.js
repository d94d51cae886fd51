/* Swagger UI's headings go from the title (h1) to h3 and h4: give them the levels they
   have on the page, for screen readers (and axe's heading order). */
(function () {
  "use strict";
  function levelHeadings() {
    document.querySelectorAll(".swagger-ui h3.opblock-tag, .swagger-ui section.models h4").forEach(function (heading) {
      if (heading.getAttribute("aria-level") !== "2") heading.setAttribute("aria-level", "2");
    });
  }
  new MutationObserver(levelHeadings).observe(document.getElementById("swagger-ui"), { childList: true, subtree: true });
})();

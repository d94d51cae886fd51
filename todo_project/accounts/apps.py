from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "todo_project.accounts"
    label = "accounts"
    verbose_name = "Accounts"

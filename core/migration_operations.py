"""Migration operations the apps share (migrations import them; they import no app)."""

from django.db import migrations


class AdoptFormerTable(migrations.operations.base.Operation):
    """Take over a model's table from the app that held the model before it moved here.

    The app's initial migration creates the model and `replaces` the other app's migration that
    created it first, so a database from before the move counts it as applied; there the other
    app's table, with its rows, is still in place. This renames it to this app's table, with its
    many-to-many tables, and relabels its content type, so the permissions, the roles' grants and
    the admin's history follow the model. On a database created since, there is nothing to adopt.
    The migration must depend on contenttypes.
    """

    reduces_to_sql = False
    reversible = False

    def __init__(self, model_name: str, former_app_label: str):
        self.model_name = model_name
        self.former_app_label = former_app_label

    def deconstruct(self):
        return self.__class__.__name__, [], {"model_name": self.model_name, "former_app_label": self.former_app_label}

    def state_forwards(self, app_label, state):
        pass  # the model is this app's already: only the database changes

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        connection = schema_editor.connection
        name = model._meta.model_name
        former_table = f"{self.former_app_label}_{name}"
        if not self.allow_migrate_model(connection.alias, model):
            return
        if former_table in connection.introspection.table_names():
            schema_editor.alter_db_table(model, former_table, model._meta.db_table)
            for field in model._meta.local_many_to_many:
                through = field.remote_field.through
                if through._meta.auto_created:
                    schema_editor.alter_db_table(through, f"{former_table}_{field.name}", through._meta.db_table)
        content_types = to_state.apps.get_model("contenttypes", "ContentType").objects.using(connection.alias)
        if not content_types.filter(app_label=app_label, model=name).exists():
            content_types.filter(app_label=self.former_app_label, model=name).update(app_label=app_label)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        raise NotImplementedError("the move to this app is not undone")

    def describe(self):
        return f"Adopt {self.former_app_label}'s table of {self.model_name}, if a database still has it"

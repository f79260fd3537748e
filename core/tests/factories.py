import factory
from django.contrib.auth import get_user_model

from core.roles import Role, user_set_role

TEST_PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A user; pass role=Role.X to put them in that role group."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@plant.example")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(self, create, role: Role | None, **kwargs):
        if create and role is not None:
            user_set_role(user=self, role=role)

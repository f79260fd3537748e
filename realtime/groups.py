"""The channel groups the dashboards listen on, and the message types their consumers relay: the one
place that names them."""

PLANT_GROUP = "plant"  # everyone on /ws/plant/
PLANT_EVENT = "plant.event"  # relayed by PlantConsumer.plant_event
MACHINE_READING = "machine.reading"  # relayed by MachineConsumer.machine_reading


def machine_group(code: str) -> str:
    """The sockets on /ws/machines/<code>/."""
    return f"machine.{code}"


def user_group(user_id: int) -> str:
    """One person's sockets on /ws/plant/."""
    return f"user.{user_id}"

"""The production stack's files against the code they run: docker-compose.yml, the Dockerfile,
.env.example and the broker's configuration in deploy/mosquitto.

Docker cannot run here, so the compose file and the Dockerfile are checked against what they name:
every command parses with the options of the manage.py command it runs, every variable is one the
settings read and .env.example lists, the build steps are the Makefile's. The broker's configuration
runs for real: mosquitto on a free port with deploy/mosquitto's files and a password file written by
deploy/mosquitto/credentials.sh.
"""

import ast
import functools
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from predictor.partitions import Partition
from telemetry.mqtt import BrokerAddress, client_create, connect_options, telemetry_topic
from testing.throwaway import MosquittoBroker

ROOT = Path(settings.BASE_DIR)
DEPLOY_MOSQUITTO = ROOT / "deploy" / "mosquitto"
CREDENTIALS_SCRIPT = DEPLOY_MOSQUITTO / "credentials.sh"

# An .env.example line that lists a variable, set (NAME=value) or commented out (# NAME=value).
ENV_EXAMPLE_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# A compose interpolation, ${NAME}, ${NAME:-default}, ${NAME:?error}; $$ is a literal dollar.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):\?")

NOT_AUTHORIZED = 135  # MQTT 5 reason code
BAD_CREDENTIALS = 134


# --- Reading the files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@functools.cache
def settings_variables() -> frozenset[str]:
    """The environment variables maintainx/settings.py reads (env_* helpers, os.environ, os.getenv)."""
    names = set()
    for node in ast.walk(ast.parse((ROOT / "maintainx" / "settings.py").read_text())):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
            continue
        function = node.func
        called = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
        reads_environ = called == "get" and getattr(function.value, "attr", "") == "environ"
        if called.startswith("env_") or called == "getenv" or reads_environ:
            names.add(node.args[0].value)
    return frozenset(names)


def env_example() -> dict[str, bool]:
    """Each variable .env.example lists, and whether its line is set (True) or commented out."""
    listed: dict[str, bool] = {}
    for match in ENV_EXAMPLE_LINE.finditer((ROOT / ".env.example").read_text()):
        assert match[2] not in listed, f".env.example lists {match[2]} twice"
        listed[match[2]] = match[1] is None
    return listed


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings_in(item)]
    return []


def interpolated(compose_file: dict, pattern: re.Pattern = INTERPOLATION) -> set[str]:
    return {name for text in strings_in(compose_file) for name in pattern.findall(text)}


def app_services(compose_file: dict) -> dict[str, dict]:
    """The services that run our image (built from the Dockerfile)."""
    return {name: service for name, service in compose_file["services"].items() if "build" in service}


def makefile_rules() -> dict[str, tuple[list[str], list[str]]]:
    """target -> (prerequisites, recipe lines) of the Makefile's rules."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    recipe: list[str] | None = None
    for line in (ROOT / "Makefile").read_text().splitlines():
        if line.startswith("\t") and recipe is not None:
            recipe.append(line.strip().lstrip("@"))
            continue
        rule = re.match(r"^([^\s:=#][^:=]*):(?!=)\s*(.*)$", line)
        recipe = None
        if rule:
            recipe = []
            for target in rule[1].split():
                rules[target] = (rule[2].split(), recipe)
    return rules


def make_recipes(target: str, rules: dict) -> list[str]:
    """The commands `make target` runs from scratch, prerequisites first."""
    prerequisites, recipe = rules[target]
    commands = [
        command
        for prerequisite in prerequisites
        if prerequisite in rules
        for command in make_recipes(prerequisite, rules)
    ]
    return commands + recipe


def dockerfile_stages() -> list[dict]:
    """Each build stage: its base image, its name and its instructions as (KEYWORD, arguments)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[dict] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), " ".join(arguments.split())
        if keyword == "FROM":
            image, _, name = arguments.partition(" AS ")
            stages.append({"image": image, "name": name or None, "instructions": []})
        else:
            stages[-1]["instructions"].append((keyword, arguments))
    return stages


def instructions(stage: dict, keyword: str) -> list[str]:
    return [arguments for found, arguments in stage["instructions"] if found == keyword]


def uvicorn_options(argv: list[str]) -> list[str]:
    """uvicorn's arguments without --host and --port, which differ between a laptop and a container."""
    assert Path(argv[0]).name == "uvicorn", argv
    kept, skip = [], False
    for argument in argv[1:]:
        if skip:
            skip = False
        elif argument in ("--host", "--port"):
            skip = True
        else:
            kept.append(argument)
    return kept


def invocations(argv: list[str]) -> list[list[str]]:
    """The commands of a compose command: one, or each step of `sh -c "a && b"`."""
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(step) for step in argv[2].split("&&")]
    return [argv]


def management_command_check(argv: list[str]) -> str:
    """`python manage.py NAME ARGS`: NAME is one of our commands and accepts ARGS. Returns NAME."""
    assert argv[:2] == ["python", "manage.py"], f"not a manage.py command: {argv}"
    name, arguments = argv[2], argv[3:]
    commands = get_commands()
    assert name in commands, f"manage.py has no command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    parser.parse_args(arguments)  # CommandError on an unknown option or a bad value
    return name


def web_command(compose_file: dict) -> list[str]:
    """The web service's command: its own, or the image's CMD."""
    command = compose_file["services"]["web"].get("command")
    if command:
        return command
    (cmd,) = instructions(dockerfile_stages()[-1], "CMD")
    return json.loads(cmd)


def option_value(argv: list[str], option: str) -> str:
    return argv[argv.index(option) + 1]


# --- Compose: variables ----------------------------------------------------------------------------


def test_env_example_lists_every_variable_the_settings_read():
    read = settings_variables()
    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "MQTT_URL", "ALLOWED_HOSTS"} <= read
    assert sorted(read - env_example().keys()) == []


def test_env_example_lists_only_what_the_settings_or_compose_read(compose):
    compose_only = interpolated(compose) - settings_variables()
    assert sorted(env_example().keys() - settings_variables() - compose_only) == []
    # Compose's own variables (passwords of the stack's services) are documented there too.
    assert sorted(interpolated(compose) - env_example().keys()) == []


def test_app_services_set_only_settings_variables_each_listed_in_env_example(compose):
    listed = env_example()
    services = app_services(compose)
    assert {"migrate", "web", "listener", "predictor", "notifier", "seed", "simulator"} <= services.keys()
    for name, service in services.items():
        for variable, value in service["environment"].items():
            assert variable in settings_variables(), f"{name} sets {variable}, which the settings do not read"
            assert variable in listed, f"{name} sets {variable}, which .env.example does not list"
            # Passed by name from .env, or fixed by compose: .env.example says which by (un)commenting it.
            passed_through = f"${{{variable}:" in str(value) or f"${{{variable}}}" in str(value)
            assert listed[variable] == passed_through, (
                f"{variable}: .env.example must {'set' if passed_through else 'comment out'} it "
                f"({'compose passes it from .env' if passed_through else 'compose fixes its value'})"
            )


def test_production_services_run_with_debug_off_and_the_compose_services_as_backends(compose):
    for name, service in app_services(compose).items():
        environment = service["environment"]
        assert environment["DEBUG"] == "0", name
        assert environment["DATABASE_URL"].endswith("@postgres:5432/maintainx"), name
        assert environment["REDIS_URL"] == "redis://redis:6379/0", name
    assert compose["services"]["listener"]["environment"]["MQTT_URL"].startswith("mqtt://listener:")
    assert compose["services"]["simulator"]["environment"]["MQTT_URL"].startswith("mqtt://simulator:")


# --- Compose: commands, health checks, order of start ----------------------------------------------


def test_app_services_run_management_commands_with_options_they_accept(compose):
    run = {}
    for name, service in app_services(compose).items():
        argv = service.get("command") or web_command(compose)
        for step in invocations(argv):
            if Path(step[0]).name == "uvicorn":
                run.setdefault(name, []).append("uvicorn")
            else:
                run.setdefault(name, []).append(management_command_check(step))
    assert run == {
        "migrate": ["migrate"],
        "web": ["uvicorn"],
        "listener": ["mqtt_listen"],
        "predictor": ["run_predictor"],
        "notifier": ["send_notifications"],
        "seed": ["seed_demo", "train_models"],
        "simulator": ["simulate_plant"],
    }


def test_web_serves_like_make_serve(compose):
    (serve,) = [line for line in makefile_rules()["serve"][1] if "uvicorn" in line]
    assert uvicorn_options(web_command(compose)) == uvicorn_options(shlex.split(serve))


def test_listener_replicas_each_keep_their_own_session_in_one_shared_subscription(compose):
    """`docker compose up --scale listener=3`: a fixed client id would have the replicas take each
    other's session in turn; the default one is the host name's, the container's id in compose."""
    listener = compose["services"]["listener"]
    assert listener["restart"] == "always"  # a killed listener comes back to its session (its share waits there)
    assert "--client-id" not in listener["command"]
    assert option_value(listener["command"], "--shared") == "ingest"
    # Nothing a second replica would fight the first for.
    assert not {"container_name", "hostname", "ports"} & listener.keys()
    assert "topic read $share/+/plant/+/telemetry" in (DEPLOY_MOSQUITTO / "acl").read_text().splitlines()


@pytest.fixture(scope="module")
def partitions() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.partitions.yml").read_text())


def test_partitions_override_runs_predictor_workers_that_cover_the_plant_once(compose, partitions):
    workers = partitions["services"]
    assert "predictor" in workers, "partition 0 replaces the single predictor, which would score everything again"
    chosen = []
    for name, worker in workers.items():
        assert management_command_check(worker["command"]) == "run_predictor", name
        chosen.append(Partition.parse(option_value(worker["command"], "--partition")))
        if name != "predictor":
            assert worker["extends"] == {"file": "docker-compose.yml", "service": "predictor"}, name
            assert worker["depends_on"] == compose["services"]["predictor"]["depends_on"], name
    (count,) = {partition.count for partition in chosen}
    assert sorted(partition.index for partition in chosen) == list(range(count))
    assert Partition.parse(option_value(workers["predictor"]["command"], "--partition")).runs_plant_upkeep


def test_health_checks_of_the_database_and_the_processes(compose):
    services = compose["services"]
    for name in ("postgres", "redis", "mosquitto", "web", "listener", "predictor", "notifier"):
        assert services[name]["healthcheck"]["test"], f"{name} has no health check"
    for name in ("listener", "predictor", "notifier"):
        probe = services[name]["healthcheck"]["test"]
        assert probe[0] == "CMD"
        assert management_command_check(probe[1:]) == "healthcheck"
    assert "--broker" in services["listener"]["healthcheck"]["test"]
    assert "--broker" not in services["predictor"]["healthcheck"]["test"]


def test_web_health_check_asks_readyz_on_the_port_it_serves(compose, client, db):
    probe = compose["services"]["web"]["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"]
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/?=&]*)", probe[3])
    assert url, probe
    assert url[1] == option_value(web_command(compose), "--port")
    assert compose["services"]["web"]["ports"] == [f"127.0.0.1:{url[1]}:{url[1]}"]
    response = client.get(url[2])
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


def test_services_wait_for_what_they_depend_on(compose):
    services = compose["services"]
    one_shots = {name for name, service in services.items() if service.get("restart") == "no"}
    assert one_shots == {"mosquitto-credentials", "migrate", "seed"}
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on a service that does not exist: {dependency}"
            expected = "service_completed_successfully" if dependency in one_shots else "service_healthy"
            assert rule["condition"] == expected, f"{name} -> {dependency}"
            assert set(services[dependency].get("profiles", [])) <= set(service.get("profiles", [])), (
                f"{name} depends on {dependency}, which only runs in a profile {name} is not in"
            )
    for name in ("web", "listener", "predictor", "notifier", "seed"):
        assert {"migrate", "postgres", "redis"} <= services[name]["depends_on"].keys(), name
    assert "mosquitto" in services["listener"]["depends_on"]
    assert services["mosquitto"]["depends_on"].keys() == {"mosquitto-credentials"}


def test_the_demo_runs_only_in_the_demo_profile(compose):
    in_demo = {name for name, service in compose["services"].items() if "demo" in service.get("profiles", [])}
    assert in_demo == {"seed", "simulator"}
    assert all(service.get("profiles", ["demo"]) == ["demo"] for service in compose["services"].values())


def test_state_lives_on_named_volumes(compose):
    services = compose["services"]
    volumes = compose["volumes"].keys()

    def mounts(name: str) -> dict[str, str]:
        """target -> source of a service's mounts (":ro" dropped)."""
        return {mount.split(":")[1]: mount.split(":")[0] for mount in services[name].get("volumes", [])}

    assert mounts("postgres")["/var/lib/postgresql/data"] in volumes
    for name in ("predictor", "seed"):
        assert mounts(name)["/app/var/models"] == "models"
        assert services[name]["environment"]["MODEL_ARTIFACT_DIR"] == "/app/var/models"

    # The broker's files: where mosquitto.conf looks for them is where compose puts them.
    config = broker_config()
    broker_mounts = mounts("mosquitto")
    assert broker_mounts["/mosquitto/config/mosquitto.conf"] == "./deploy/mosquitto/mosquitto.conf"
    assert broker_mounts[config["acl_file"]] == "./deploy/mosquitto/acl"
    auth_directory = str(Path(config["password_file"]).parent)
    assert broker_mounts[auth_directory] in volumes
    assert mounts("mosquitto-credentials")[auth_directory] == broker_mounts[auth_directory]
    assert broker_mounts[config["persistence_location"].rstrip("/")] in volumes
    default_password_file = re.search(r'PASSWORD_FILE="\$\{PASSWORD_FILE:-([^}]+)\}"', CREDENTIALS_SCRIPT.read_text())
    assert default_password_file[1] == config["password_file"]
    for name in services:
        for source in mounts(name).values():
            assert source in volumes or (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def broker_config() -> dict[str, str]:
    config = {}
    for line in (DEPLOY_MOSQUITTO / "mosquitto.conf").read_text().splitlines():
        option, _, value = line.strip().partition(" ")
        if option and not option.startswith("#"):
            config[option] = value.strip()
    return config


def test_broker_refuses_anonymous_clients_and_persists_its_queues():
    config = broker_config()
    assert config["allow_anonymous"] == "false"
    assert config["persistence"] == "true"
    # 0 would mean no limit: a long outage would grow the broker until it is killed.
    assert int(config["max_queued_messages"]) > 0
    assert int(config["max_queued_bytes"]) > 0


DEMO_CONFIG = ["--profile", "demo", "config", "--quiet"]


@pytest.mark.parametrize("files", [["docker-compose.yml"], ["docker-compose.yml", "docker-compose.partitions.yml"]])
def test_docker_compose_accepts_the_file(tmp_path, files):
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False)  # noqa: S603
    if not plugin or plugin.returncode != 0:
        pytest.skip("docker compose is not installed here (the docker client has no compose plugin)")
    required = interpolated(yaml.safe_load((ROOT / "docker-compose.yml").read_text()), REQUIRED_INTERPOLATION)
    env_file = tmp_path / ".env"
    env_file.write_text(
        (ROOT / ".env.example").read_text() + "".join(f"{name}=compose-config-test\n" for name in sorted(required))
    )
    result = subprocess.run(  # noqa: S603 - docker compose with our own files
        [docker, "compose", *(f"--file={name}" for name in files), f"--env-file={env_file}", *DEMO_CONFIG],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- Dockerfile ---------------------------------------------------------------------------------------


def test_dockerfile_builds_the_dashboard_with_the_commands_of_make_frontend():
    frontend_stage, app_stage = dockerfile_stages()
    assert frontend_stage["image"].startswith("node:")
    make_frontend = make_recipes("frontend", makefile_rules())
    assert make_frontend
    assert all(command.startswith("cd frontend && ") for command in make_frontend)
    assert instructions(frontend_stage, "WORKDIR")[-1].endswith("/frontend")
    assert instructions(frontend_stage, "RUN") == [command.removeprefix("cd frontend && ") for command in make_frontend]
    # The build lands where the settings look for it.
    workdir = Path(instructions(frontend_stage, "WORKDIR")[-1])
    dist = settings.FRONTEND_DIST.relative_to(ROOT)
    assert f"--from={frontend_stage['name']} {workdir / dist.name} {dist.as_posix()}" in instructions(app_stage, "COPY")


def test_dockerfile_installs_the_pinned_requirements_the_tests_run_on():
    app_stage = dockerfile_stages()[-1]
    minimum_python = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text())[1]
    assert app_stage["image"].startswith(f"python:{minimum_python}-slim")
    assert "pip install -r requirements.txt" in instructions(app_stage, "RUN")
    # `make venv` installs requirements-dev.txt, which is requirements.txt plus the test tools.
    assert any(
        "pip install" in line and "-r requirements-dev.txt" in line for line in make_recipes("venv", makefile_rules())
    )
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()


def test_image_runs_as_a_non_root_user_with_its_static_files_collected():
    app_stage = dockerfile_stages()[-1]
    user = instructions(app_stage, "USER")[-1]
    assert user not in ("root", "0")
    assert any(
        "DEBUG=0" in line and "manage.py collectstatic --noinput" in line for line in instructions(app_stage, "RUN")
    )
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".env", ".venv", "db.sqlite3*", "var", "frontend/node_modules", "frontend/dist"} <= set(ignored)


# --- The broker's configuration, on a real mosquitto ---------------------------------------------------


LISTENER_PASSWORD = "listener-test-password"
MACHINE_PASSWORDS = {"M-001": "m001-test-password", "M-002": "m002-test-password"}


def credentials_script(*arguments: str, password_file: Path, stdin: str = "", **environment: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own script with test arguments
        ["sh", str(CREDENTIALS_SCRIPT), *arguments],  # noqa: S607 - the system shell
        input=stdin,
        env={"PATH": os.environ["PATH"], "PASSWORD_FILE": str(password_file), **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def deployed_broker():
    if shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None:
        pytest.fail("mosquitto and mosquitto_passwd must be installed (the Mosquitto package)")
    broker = MosquittoBroker(config_file=DEPLOY_MOSQUITTO / "mosquitto.conf")
    credentials_script("sync", password_file=broker.password_file, MQTT_LISTENER_PASSWORD=LISTENER_PASSWORD)
    for code, password in MACHINE_PASSWORDS.items():
        credentials_script("machine", code, password_file=broker.password_file, stdin=f"{password}\n")
    broker.start()
    yield broker
    broker.destroy()


def url(broker: MosquittoBroker, username: str | None = None, password: str | None = None) -> str:
    credentials = f"{username}:{password}@" if username else ""
    return f"mqtt://{credentials}127.0.0.1:{broker.port}"


class RecordingClient:
    """Our MQTT client (telemetry.mqtt) that records the broker's answers and what it delivers."""

    TIMEOUT = 10.0

    def __init__(self, broker_url: str, *, client_id: str):
        self.address = BrokerAddress.from_url(broker_url)
        self.client = client_create(self.address, client_id=client_id)
        self.changed = threading.Condition()
        self.connack: mqtt.ReasonCode | None = None
        self.subacks: dict[int, list] = {}
        self.pubacks: dict[int, mqtt.ReasonCode] = {}
        self.received: list[tuple[str, bytes]] = []
        self.client.on_connect = lambda client, userdata, flags, code, properties: self._connected(code)
        self.client.on_subscribe = lambda client, userdata, mid, codes, properties: self._record_at(
            self.subacks, mid, codes
        )
        self.client.on_publish = lambda client, userdata, mid, code, properties: self._record_at(
            self.pubacks, mid, code
        )
        self.client.on_message = lambda client, userdata, message: self._record_message(message)

    def _connected(self, code: mqtt.ReasonCode):
        if code.is_failure:
            self.client.disconnect()  # no retries: the network thread ends here
        with self.changed:
            self.connack = code
            self.changed.notify_all()

    def _record_at(self, table: dict, mid: int, value):
        with self.changed:
            table[mid] = value
            self.changed.notify_all()

    def _record_message(self, message):
        with self.changed:
            self.received.append((message.topic, message.payload))
            self.changed.notify_all()

    def _wait(self, condition, what: str):
        with self.changed:
            if not self.changed.wait_for(condition, timeout=self.TIMEOUT):
                raise AssertionError(f"no {what} within {self.TIMEOUT:g} s")

    def connect(self, *, persistent: bool = False) -> mqtt.ReasonCode:
        self.connack = None
        self.client.connect(
            self.address.host, self.address.port, keepalive=10, **connect_options(protocol="5", persistent=persistent)
        )
        self.client.loop_start()
        self._wait(lambda: self.connack is not None, "CONNACK")
        return self.connack

    def subscribe(self, topic: str) -> None:
        _, mid = self.client.subscribe(topic, qos=1)
        self._wait(lambda: mid in self.subacks, "SUBACK")
        assert not any(code.is_failure for code in self.subacks[mid]), self.subacks[mid]

    def publish(self, topic: str, payload: bytes) -> mqtt.ReasonCode:
        mid = self.client.publish(topic, payload, qos=1).mid
        self._wait(lambda: mid in self.pubacks, "PUBACK")
        return self.pubacks[mid]

    def wait_for(self, payload: bytes) -> None:
        self._wait(lambda: any(body == payload for _, body in self.received), f"message {payload!r}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients():
    opened: list[RecordingClient] = []

    def open_client(broker_url: str, *, client_id: str, subscribe: str | None = None, persistent: bool = False):
        client = RecordingClient(broker_url, client_id=client_id)
        opened.append(client)
        assert not client.connect(persistent=persistent).is_failure, f"{client_id} refused"
        if subscribe:
            client.subscribe(subscribe)
        return client

    yield open_client
    for client in opened:
        client.close()


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, None), ("M-001", "not-its-password"), ("listener", "not-its-password"), ("M-999", "unknown")],
)
def test_broker_refuses_anonymous_clients_and_wrong_passwords(deployed_broker, username, password):
    client = RecordingClient(url(deployed_broker, username, password), client_id="test-refused")
    try:
        answer = client.connect()
    finally:
        client.close()
    assert answer.value in (NOT_AUTHORIZED, BAD_CREDENTIALS), answer


def test_machine_publishes_its_own_telemetry_to_the_listener(deployed_broker, clients):
    listener = clients(
        url(deployed_broker, "listener", LISTENER_PASSWORD), client_id="listener", subscribe="plant/+/telemetry"
    )
    shared = clients(
        url(deployed_broker, "listener", LISTENER_PASSWORD),
        client_id="listener-shared",
        subscribe="$share/ingest/plant/+/telemetry",
    )
    machine = clients(url(deployed_broker, "M-001", MACHINE_PASSWORDS["M-001"]), client_id="M-001")
    assert not machine.publish(telemetry_topic("M-001"), b"reading of M-001").is_failure
    listener.wait_for(b"reading of M-001")
    shared.wait_for(b"reading of M-001")
    assert listener.received == [("plant/M-001/telemetry", b"reading of M-001")]


def test_machine_cannot_publish_on_another_machines_topic_nor_read_it(deployed_broker, clients):
    listener = clients(
        url(deployed_broker, "listener", LISTENER_PASSWORD), client_id="listener", subscribe="plant/+/telemetry"
    )
    other_machine = clients(
        url(deployed_broker, "M-002", MACHINE_PASSWORDS["M-002"]), client_id="M-002", subscribe="plant/+/telemetry"
    )
    machine = clients(url(deployed_broker, "M-001", MACHINE_PASSWORDS["M-001"]), client_id="M-001")
    assert machine.publish(telemetry_topic("M-002"), b"forged reading of M-002").value == NOT_AUTHORIZED
    assert machine.publish("plant/M-001/commands", b"not telemetry").value == NOT_AUTHORIZED
    # Delivered in order after the refused ones: had those gone through, they would be here first.
    assert not machine.publish(telemetry_topic("M-001"), b"reading of M-001").is_failure
    listener.wait_for(b"reading of M-001")
    assert listener.received == [("plant/M-001/telemetry", b"reading of M-001")]
    # The broker answers M-002 in order: anything it had delivered to M-002 came before this PUBACK.
    assert not other_machine.publish(telemetry_topic("M-002"), b"reading of M-002").is_failure
    assert other_machine.received == []


def test_listener_cannot_publish_to_plant_topics(deployed_broker, clients):
    observer = clients(
        url(deployed_broker, "listener", LISTENER_PASSWORD), client_id="observer", subscribe="plant/+/telemetry"
    )
    listener = clients(url(deployed_broker, "listener", LISTENER_PASSWORD), client_id="listener")
    assert listener.publish(telemetry_topic("M-001"), b"forged by the listener").value == NOT_AUTHORIZED
    assert listener.publish(telemetry_topic("listener"), b"the listener as a machine").value == NOT_AUTHORIZED
    machine = clients(url(deployed_broker, "M-001", MACHINE_PASSWORDS["M-001"]), client_id="M-001")
    assert not machine.publish(telemetry_topic("M-001"), b"reading of M-001").is_failure
    observer.wait_for(b"reading of M-001")
    assert observer.received == [("plant/M-001/telemetry", b"reading of M-001")]


def test_listeners_backlog_survives_a_broker_restart(deployed_broker, clients):
    listener_url = url(deployed_broker, "listener", LISTENER_PASSWORD)
    away = clients(listener_url, client_id="maintainx-listener", subscribe="plant/+/telemetry", persistent=True)
    away.close()
    machine = clients(url(deployed_broker, "M-001", MACHINE_PASSWORDS["M-001"]), client_id="M-001")
    backlog = [f"queued reading {n}".encode() for n in range(3)]
    for payload in backlog:
        assert not machine.publish(telemetry_topic("M-001"), payload).is_failure

    deployed_broker.restart()  # SIGTERM, as `docker compose restart` sends: the queue is saved

    back = clients(listener_url, client_id="maintainx-listener", persistent=True)
    back.wait_for(backlog[-1])
    assert [payload for _, payload in back.received] == backlog


def test_listener_health_check_passes_with_its_credentials_on_the_deployed_broker(deployed_broker, settings, db):
    settings.MQTT_URL = url(deployed_broker, "listener", LISTENER_PASSWORD)
    report = io.StringIO()
    call_command("healthcheck", "--broker", stdout=report)
    assert "broker" in report.getvalue()
    settings.MQTT_URL = url(deployed_broker, "listener", "not-its-password")
    with pytest.raises(CommandError, match="broker"):
        call_command("healthcheck", "--broker", stdout=io.StringIO())


def test_compose_health_check_of_the_broker_follows_the_broker(deployed_broker, compose):
    probe = compose["services"]["mosquitto"]["healthcheck"]["test"]
    assert probe[0] == "CMD-SHELL"
    assert broker_config()["listener"] == "1883"
    assert "-p 1883" in probe[1]
    script = probe[1].replace("$$", "$").replace("-p 1883", f"-p {deployed_broker.port}")

    def healthy() -> bool:
        return subprocess.run(["sh", "-c", script], timeout=30, check=False).returncode == 0  # noqa: S603, S607

    assert healthy()
    deployed_broker.stop()
    assert not healthy()

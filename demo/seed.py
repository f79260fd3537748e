"""The demo plant: machine types, machines, error codes with their SOPs, shifts and demo users.

The plant itself (machine types with their metrics, machines, shifts, technicians) comes from a
plant profile (simulation.profiles; `simulation/profiles/demo.toml` unless another is given); the
error codes, SOPs and the supervisor's and manager's logins are the same for every plant.

`demo_plant_seed` is idempotent: rows are found by their natural keys (type name, machine code,
error code, SOP title and version, shift name, username) and only missing ones are created. A row
that exists is never written, so a second run changes nothing and whatever a supervisor edited in
the admin since (thresholds, SOP steps, roles, passwords) survives the next `make demo`.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from catalogue.models import SOP, ErrorCode, FailureMode, Severity, SOPStep
from core.roles import Role, user_role, user_set_role
from simulation.profiles import DEMO_PROFILE_PATH, MachineEntry, MachineTypeProfile, PlantProfile, plant_profile_load
from telemetry.models import Machine, MachineStatus, MachineType, MetricSpec
from tickets.models import Shift

# --- What the seed contains -----------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCodeSeed:
    code: str
    title: str
    severity: Severity
    failure_mode: FailureMode
    description: str


@dataclass(frozen=True)
class StepSeed:
    instruction: str
    warning: str = ""
    tools: str = ""
    estimated_minutes: int | None = None


@dataclass(frozen=True)
class SOPSeed:
    error_code: str
    title: str
    summary: str
    steps: tuple[StepSeed, ...]
    version: int = 1


@dataclass(frozen=True)
class UserSeed:
    username: str
    first_name: str
    last_name: str
    role: Role
    shifts: tuple[str, ...] = ()

    @property
    def demo_password(self) -> str:
        return f"{self.username}-demo"

    @property
    def email(self) -> str:
        return f"{self.username}@plant.example"


DEMO_PROFILE = plant_profile_load(DEMO_PROFILE_PATH)
# The demo plant's, by the names the tests and benchmarks know them.
MACHINE_TYPES: tuple[MachineTypeProfile, ...] = DEMO_PROFILE.machine_types
PUMP, MOTOR, COMPRESSOR = (machine_type.name for machine_type in MACHINE_TYPES)
MACHINES: tuple[MachineEntry, ...] = DEMO_PROFILE.machines

ERROR_CODES: tuple[ErrorCodeSeed, ...] = (
    ErrorCodeSeed(
        "E-BRG-01",
        "Bearing wear",
        Severity.HIGH,
        FailureMode.BEARING_WEAR,
        "A rolling-element bearing is wearing out: vibration rises at the bearing defect frequencies, often with "
        "noise and heat, and the bearing will seize if it is not replaced.",
    ),
    ErrorCodeSeed(
        "E-TMP-01",
        "Overheating",
        Severity.HIGH,
        FailureMode.OVERHEATING,
        "The machine runs hotter than its normal range, usually from blocked cooling, overload or hot surroundings, "
        "and its insulation and lubricant age fast while it does.",
    ),
    ErrorCodeSeed(
        "E-VIB-01",
        "Imbalance / misalignment",
        Severity.MEDIUM,
        FailureMode.IMBALANCE,
        "Vibration is high at running speed (1x) or twice running speed (2x) because the rotor is out of balance or "
        "the shafts are out of line, which wears bearings, seals and the coupling.",
    ),
    ErrorCodeSeed(
        "E-LUB-01",
        "Lubrication loss",
        Severity.HIGH,
        FailureMode.LUBRICATION_LOSS,
        "The bearings or the compressor element get too little or the wrong lubricant, so friction and temperature "
        "climb and the bearing fails within days.",
    ),
    ErrorCodeSeed(
        "E-ELC-01",
        "Electrical fault",
        Severity.CRITICAL,
        FailureMode.ELECTRICAL_FAULT,
        "A fault in the motor windings, cables or connections (insulation breakdown, phase imbalance, loose terminal) "
        "that can trip the drive, burn out the motor or start a fire.",
    ),
)

# Steps shared by the mechanical procedures. Isolation comes first in every SOP: a machine stopped
# only from its control panel can be restarted by the control system or by someone else.
LOCKOUT_STEP = StepSeed(
    "Apply lockout/tagout (LOTO): tell the line operator, stop the machine from its control panel, then open the "
    "main isolator and fit your personal lock and danger tag. On pumps also close and lock the suction and discharge "
    "valves; on compressors close the outlet valve and let the system vent to 0 bar.",
    warning="Never work on a machine that is only stopped from its control panel: it can restart without warning.",
    tools="personal padlock, danger tag, lockout hasp, valve lockout devices",
    estimated_minutes=15,
)
VERIFY_ZERO_ENERGY_STEP = StepSeed(
    "Verify zero energy: press start at the local control (the machine must not start), test for absence of voltage "
    "at the motor terminal box with a two-pole voltage tester proved on a live source before and after, check that "
    "every pressure gauge reads 0 bar, and block the shaft if process flow or gravity could turn it.",
    warning="Treat every conductor and every pipe as live until you have proved it dead.",
    tools="two-pole voltage tester, proving unit, insulated gloves",
    estimated_minutes=10,
)
REMOVE_LOCKOUT_STEP = StepSeed(
    "Remove the lockout/tagout following the site procedure: tools and rags out of the machine, guards refitted, "
    "everyone clear; each person removes only their own lock. Open the valves, tell the operator, and start the "
    "machine.",
    warning="Check that every guard is back and every person is clear before the isolator is closed.",
    tools="",
    estimated_minutes=10,
)

SOPS: tuple[SOPSeed, ...] = (
    SOPSeed(
        error_code="E-BRG-01",
        title="Rolling-element bearing replacement",
        summary="Confirm a worn bearing and replace it without damaging the shaft or the new bearing. Use when "
        "vibration rises at the bearing defect frequencies or a bearing is noisy or hot.",
        steps=(
            LOCKOUT_STEP,
            VERIFY_ZERO_ENERGY_STEP,
            StepSeed(
                "Review the vibration spectrum recorded before the stop (MaintainX trend or portable analyser): peaks "
                "at the bearing defect frequencies (BPFO, BPFI, BSF, FTF) and their harmonics over a raised noise "
                "floor confirm bearing damage. A dominant peak at 1x running speed points to imbalance or "
                "misalignment instead: follow the E-VIB-01 procedure.",
                tools="tablet, portable vibration analyser",
                estimated_minutes=10,
            ),
            StepSeed(
                "Remove the coupling guard. Turn the shaft by hand and feel for roughness, grinding or play; look at "
                "the bearing housing for discolouration, grease leaks and metal particles in the grease. Note which "
                "bearing (drive end or non-drive end) is damaged.",
                tools="spanners, torch, dial indicator with magnetic base",
                estimated_minutes=15,
            ),
            StepSeed(
                "Uncouple the machine and remove the bearing cover. Pull the old bearing with a correctly sized "
                "mechanical or hydraulic puller bearing on the inner ring. Never hammer on a bearing or the shaft.",
                warning="A loaded puller can throw parts: use its safety cover and stand out of its axis. Hammering "
                "ruins the shaft seat.",
                tools="mechanical or hydraulic bearing puller, puller safety cover, spanners, seal removal hooks",
                estimated_minutes=45,
            ),
            StepSeed(
                "Clean the shaft seat and the housing. Measure the shaft and housing bore with a micrometer and bore "
                "gauge against the drawing tolerances, and check that the new bearing's designation matches the old "
                "one and the parts list.",
                tools="outside micrometer, bore gauge, lint-free cloths, cleaning solvent",
                estimated_minutes=20,
            ),
            StepSeed(
                "Heat the new bearing on an induction heater to about 110 °C (never above 120 °C, never with a flame), "
                "slide it onto the shaft against the shoulder and hold it there until it grips. Let it cool to "
                "ambient before greasing.",
                warning="The bearing is hot enough to burn: wear heat-resistant gloves.",
                tools="induction bearing heater, heat-resistant gloves, contact thermometer",
                estimated_minutes=30,
            ),
            StepSeed(
                "Fill the bearing with the grease type and quantity on the machine's lubrication chart (about a third "
                "to half of the free space), refit seals and covers, recouple, check the shaft alignment (E-VIB-01 "
                "procedure) and refit the coupling guard.",
                tools="grease gun with specified grease, new seals, torque wrench, laser shaft alignment tool",
                estimated_minutes=40,
            ),
            REMOVE_LOCKOUT_STEP,
            StepSeed(
                "Run the machine for 30 minutes, then measure vibration (mm/s RMS) and temperature at both bearings "
                "and record them in the ticket's notes: vibration must be back in the normal range and the "
                "temperature steady.",
                tools="vibration meter, infrared thermometer, tablet",
                estimated_minutes=35,
            ),
        ),
    ),
    SOPSeed(
        error_code="E-TMP-01",
        title="Overheating investigation",
        summary="Find why a machine runs hot (cooling, load, surroundings or a mechanical or electrical fault) and "
        "remove the cause. Use when the housing or bearing temperature leaves its normal range.",
        steps=(
            LOCKOUT_STEP,
            VERIFY_ZERO_ENERGY_STEP,
            StepSeed(
                "Let the machine cool below 40 °C before touching it. Meanwhile check its trend in MaintainX: "
                "temperature rising with vibration points to a bearing (E-BRG-01), with current to overload or an "
                "electrical fault (E-ELC-01).",
                warning="Housings can be above 80 °C: do not touch until measured.",
                tools="infrared thermometer, tablet",
                estimated_minutes=20,
            ),
            StepSeed(
                "Remove the fan cowl. Check that the cooling fan is whole and tight on the shaft, and clean the "
                "cooling fins and the cowl's air inlet of dust, oil and fibres.",
                tools="spanners, stiff brushes, industrial vacuum cleaner",
                estimated_minutes=30,
            ),
            StepSeed(
                "Check the machine's own cooling path: on pumps, that the suction strainer is clean and the valves are "
                "open as the line's drawing shows (a pump run against a closed valve or dry heats up); on compressors, "
                "clean the oil cooler and aftercooler cores and check the oil level and the thermostatic valve.",
                tools="spanners, strainer basket gasket, fin comb, compressed-air blow gun with safety nozzle",
                estimated_minutes=30,
            ),
            StepSeed(
                "Check the surroundings: air at the cooling inlet must be below 40 °C (the usual nameplate rating), "
                "no hot exhaust may be drawn back in, and nothing may be stored against the machine.",
                tools="air thermometer",
                estimated_minutes=10,
            ),
            StepSeed(
                "Turn the shaft by hand: it must turn freely and evenly. Tight spots point to a bearing or a rubbing "
                "seal or fan.",
                estimated_minutes=5,
            ),
            REMOVE_LOCKOUT_STEP,
            StepSeed(
                "At normal load, measure the current of all three phases with a clamp meter and compare it with the "
                "nameplate full-load current: above it means overload (check the driven load, process conditions and "
                "supply voltage); phases more than 10 % apart point to an electrical fault (E-ELC-01).",
                warning="Measuring in a live cabinet: qualified persons only, with arc-rated PPE.",
                tools="clamp meter (CAT III), arc-rated PPE",
                estimated_minutes=15,
            ),
            StepSeed(
                "After 30-60 minutes at load, take thermal images of the housing, both bearings, the coupling and the "
                "terminal box: a hot terminal means a loose connection, a hot bearing a lubrication or bearing fault. "
                "Record temperatures, phase currents and ambient in the ticket's notes.",
                tools="thermal imaging camera, tablet",
                estimated_minutes=60,
            ),
        ),
    ),
    SOPSeed(
        error_code="E-VIB-01",
        title="Shaft alignment and balancing",
        summary="Bring shafts back into line and the rotor back into balance. Use when vibration is high at 1x or "
        "2x running speed without bearing defect frequencies.",
        steps=(
            LOCKOUT_STEP,
            VERIFY_ZERO_ENERGY_STEP,
            StepSeed(
                "Review the vibration spectrum recorded before the stop: a dominant radial 1x running-speed peak "
                "suggests imbalance; a high 2x peak and strong axial vibration suggest misalignment. Bearing defect "
                "frequencies point to E-BRG-01 instead.",
                tools="tablet, portable vibration analyser",
                estimated_minutes=10,
            ),
            StepSeed(
                "Remove the coupling guard. Inspect the coupling element for wear, cracks and rubber dust, the "
                "foundation bolts and base frame for looseness and cracks, and the impeller, fan or rotor for "
                "build-up, erosion and missing balance weights.",
                tools="spanners, torch, torque wrench",
                estimated_minutes=20,
            ),
            StepSeed(
                "Check for soft foot: with a dial indicator on each motor foot, loosen that foot's bolt; movement over "
                "0.05 mm is soft foot. Shim that foot with stainless shims, then tighten all foot bolts to the "
                "specified torque in a cross pattern.",
                tools="dial indicator with magnetic base, stainless shim set, feeler gauges, torque wrench",
                estimated_minutes=30,
            ),
            StepSeed(
                "Align the shafts with the laser alignment tool: mount the heads on both shafts, measure, and move the "
                "motor (shims vertically, jacking bolts horizontally) until offset and angularity are inside the "
                "tool's tolerance for the running speed (about 0.05 mm offset at 1500 rpm). Save the as-found and "
                "as-left report to the ticket.",
                warning="Keep fingers out from between the feet and the base frame while the motor is moved.",
                tools="laser shaft alignment tool, stainless shim set, jacking bolts, torque wrench",
                estimated_minutes=60,
            ),
            StepSeed(
                "If the spectrum showed imbalance: clean deposits off the impeller, fan or rotor (the commonest "
                "cause) and replace a damaged or eroded fan or impeller. Refit the coupling element and the guard.",
                tools="scrapers, cleaning solvent, spare fan or impeller",
                estimated_minutes=30,
            ),
            REMOVE_LOCKOUT_STEP,
            StepSeed(
                "Run at normal speed and measure vibration at both bearings, horizontal, vertical and axial. If 1x is "
                "still high, balance in place with the analyser's single-plane trial-weight method (two-plane for "
                "wide rotors) to grade G6.3 of ISO 21940-11, locking the machine out again (steps 1-2) each time a "
                "weight is fitted. Record the as-left vibration in the ticket's notes.",
                warning="Fit trial and correction weights only with the machine locked out; a loose weight leaves the "
                "rotor like a bullet.",
                tools="portable vibration analyser with balancing function, trial weights, scale, tablet",
                estimated_minutes=60,
            ),
        ),
    ),
    SOPSeed(
        error_code="E-LUB-01",
        title="Relubrication and seal check",
        summary="Restore correct lubrication with the right lubricant in the right quantity and stop it leaking "
        "away. Use when a bearing runs dry, the lubricant is wrong or degraded, or a seal leaks.",
        steps=(
            LOCKOUT_STEP,
            VERIFY_ZERO_ENERGY_STEP,
            StepSeed(
                "Look up the grease type, the quantity in grams and the interval for every lubrication point on the "
                "machine's lubrication chart or the bearing plate. Never mix greases with different thickeners (for "
                "example lithium and polyurea): the mixture softens and runs out.",
                tools="lubrication chart, tablet",
                estimated_minutes=10,
            ),
            StepSeed(
                "Inspect the lubrication points and seals: clean the grease nipples, check for blocked nipples and "
                "relief plugs, grease or oil at the lip seals, and hard, dark or gritty grease at the relief port. On "
                "compressors check the oil level in the separator tank's sight glass.",
                tools="lint-free cloths, torch, spanners",
                estimated_minutes=15,
            ),
            StepSeed(
                "Remove the grease relief plug so old grease can escape. If the old grease is hard, contaminated or "
                "of another type, open the bearing cover, scrape out the old grease and wipe the bearing clean.",
                tools="spanners, plastic grease scraper, lint-free cloths, waste container",
                estimated_minutes=30,
            ),
            StepSeed(
                "Replace lip seals and V-rings that are hard, cracked or leaking. A pump mechanical seal that leaks "
                "visibly needs its own work order for replacement.",
                tools="seal kit, seal removal hooks, seal driver",
                estimated_minutes=30,
            ),
            StepSeed(
                "Pump the specified quantity of the correct grease in slowly with a grease gun of known output per "
                "stroke: over-greasing overheats a bearing as surely as too little grease. On compressors top up or "
                "change the oil with the maker's specified oil and fit a new oil filter.",
                tools="grease gun with known grams per stroke, specified grease, compressor oil, oil filter",
                estimated_minutes=20,
            ),
            REMOVE_LOCKOUT_STEP,
            StepSeed(
                "Run the machine for 15-30 minutes with the relief plug out so excess grease purges, then refit the "
                "plug. Bearing temperature often rises briefly after greasing and should settle within an hour.",
                warning="The shaft turns next to the relief port: keep hands, sleeves and rags away.",
                tools="spanners, infrared thermometer",
                estimated_minutes=30,
            ),
            StepSeed(
                "Record the lubricant, the quantity, and bearing temperature and vibration after an hour in the "
                "ticket's notes. If the bearing was dry before its interval was up, ask the supervisor to shorten the "
                "interval.",
                tools="vibration meter, infrared thermometer, tablet",
                estimated_minutes=10,
            ),
        ),
    ),
    SOPSeed(
        error_code="E-ELC-01",
        title="Motor electrical fault diagnosis",
        summary="Find and fix a fault in the motor, its cables or its connections. Qualified electricians only. Use "
        "after a trip by the motor protection or drive, a phase imbalance, or a burnt smell or hot terminal box.",
        steps=(
            StepSeed(
                "Qualified electrician only: a technician who is not one hands the ticket to the electrician on "
                "shift. Apply lockout/tagout (LOTO): tell the line operator, stop the machine, open the isolator or "
                "withdraw the starter, and fit your personal lock and danger tag.",
                warning="Work on electrical equipment is for qualified electricians only.",
                tools="personal padlock, danger tag, lockout hasp",
                estimated_minutes=15,
            ),
            StepSeed(
                "Verify zero energy: test for absence of voltage phase to phase and phase to earth at the motor "
                "terminals and the starter or drive output, with a two-pole tester proved before and after. On a "
                "variable-speed drive wait the discharge time on its label and measure the DC bus before touching "
                "anything.",
                warning="A drive's DC bus stays charged for minutes after isolation.",
                tools="two-pole voltage tester, proving unit, insulated gloves, face shield",
                estimated_minutes=15,
            ),
            StepSeed(
                "Read the fault log of the drive or motor protection relay (overcurrent, earth fault, phase loss) and "
                "the current trend in MaintainX. Open the terminal box and look for burnt insulation, discoloured "
                "terminals, moisture and a smell of burning.",
                tools="screwdrivers, torch, tablet",
                estimated_minutes=20,
            ),
            StepSeed(
                "Check every terminal in the terminal box and at the starter or drive with a torque screwdriver or "
                "wrench against the maker's values; replace discoloured lugs and terminals.",
                tools="torque screwdriver, torque wrench, crimping tool, cable lugs",
                estimated_minutes=20,
            ),
            StepSeed(
                "Disconnect the motor cables from the drive or starter and measure each winding's insulation "
                "resistance to earth with a megohmmeter at 500 V DC for one minute. Above 100 MΩ is healthy; below "
                "5 MΩ the motor must not go back into service until it is dried out or rewound.",
                warning="The megohmmeter's test voltage is dangerous and the winding stays charged: discharge it to "
                "earth afterwards. Disconnect the drive first or the test voltage destroys it.",
                tools="megohmmeter (500/1000 V insulation tester), earthing lead",
                estimated_minutes=30,
            ),
            StepSeed(
                "Measure the winding resistance of each phase pair with a low-resistance ohmmeter: the three readings "
                "must agree within 3 %; a larger difference points to shorted turns or a bad connection.",
                tools="low-resistance ohmmeter",
                estimated_minutes=15,
            ),
            StepSeed(
                "Check the supply side: fuses, contactor contacts, the overload relay set to the nameplate full-load "
                "current, and the cable for damage along its route.",
                tools="multimeter, screwdrivers, torch",
                estimated_minutes=20,
            ),
            StepSeed(
                "Reconnect the cables in the original phase sequence, torque the terminals, and close the terminal "
                "box with its gasket. Remove the lockout/tagout following the site procedure, tell the operator, and "
                "start the machine.",
                warning="Check that every cover is closed and every person is clear before switching on.",
                tools="torque screwdriver, new terminal box gasket",
                estimated_minutes=15,
            ),
            StepSeed(
                "At normal load, measure the current of each phase with a clamp meter and the three phase-to-phase "
                "voltages: more than 10 % current imbalance or 2 % voltage imbalance needs further investigation.",
                warning="Live measurement: qualified electrician with arc-rated PPE; keep cabinet doors closed where "
                "the clamp can reach without opening them.",
                tools="clamp meter (CAT III), multimeter, arc-rated PPE",
                estimated_minutes=20,
            ),
            StepSeed(
                "Record insulation resistance, winding resistances, phase currents and voltages in the ticket's notes "
                "and compare them with the motor's previous values to see the trend.",
                tools="tablet",
                estimated_minutes=10,
            ),
        ),
    ),
)

# Every plant's office: its technicians come from its profile's crew.
STAFF: tuple[UserSeed, ...] = (
    UserSeed("supervisor", "Sandra", "Keller", Role.SUPERVISOR),
    UserSeed("manager", "Martin", "Novak", Role.MANAGER),
)


def plant_users(profile: PlantProfile) -> tuple[UserSeed, ...]:
    return STAFF + tuple(
        UserSeed(technician.username, technician.first_name, technician.last_name, Role.TECHNICIAN, technician.shifts)
        for technician in profile.crew.technicians
    )


USERS: tuple[UserSeed, ...] = plant_users(DEMO_PROFILE)


# --- What a run reports ---------------------------------------------------------------------------


@dataclass
class KindCounts:
    created: int = 0
    existing: int = 0

    def add(self, *, created: bool) -> None:
        if created:
            self.created += 1
        else:
            self.existing += 1


@dataclass(frozen=True)
class DemoLogin:
    username: str
    full_name: str
    role: Role | None
    shifts: tuple[str, ...]
    # None when the account already existed and its password was left as it was.
    password: str | None


KINDS = ("machine types", "metrics", "machines", "error codes", "SOPs", "SOP steps", "shifts", "users")


@dataclass
class DemoSeedReport:
    counts: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    logins: list[DemoLogin] = field(default_factory=list)

    @property
    def created_total(self) -> int:
        return sum(counts.created for counts in self.counts.values())


# --- The seeding ----------------------------------------------------------------------------------


@transaction.atomic
def demo_plant_seed(*, reset_passwords: bool = False, profile: PlantProfile = DEMO_PROFILE) -> DemoSeedReport:
    """Create what is missing of the profile's plant (the demo plant by default), in one transaction.

    reset_passwords sets every demo user's password back to `<username>-demo`, including users
    that already existed; nothing else about an existing row is touched.
    """
    report = DemoSeedReport()
    machine_types = _machine_types_seed(profile=profile, counts=report.counts)
    _machines_seed(profile=profile, machine_types=machine_types, counts=report.counts)
    error_codes = _error_codes_seed(counts=report.counts)
    _sops_seed(error_codes=error_codes, counts=report.counts)
    shifts = _shifts_seed(profile=profile, counts=report.counts)
    report.logins = _users_seed(
        users=plant_users(profile), shifts=shifts, reset_passwords=reset_passwords, counts=report.counts
    )
    return report


def _machine_types_seed(*, profile: PlantProfile, counts: dict[str, KindCounts]) -> dict[str, MachineType]:
    machine_types = {}
    for type_seed in profile.machine_types:
        machine_type, created = MachineType.objects.get_or_create(
            name=type_seed.name, defaults={"description": type_seed.description}
        )
        counts["machine types"].add(created=created)
        for metric in type_seed.metrics:
            _, created = MetricSpec.objects.get_or_create(
                machine_type=machine_type,
                name=metric.name,
                defaults={
                    "unit": metric.unit,
                    "normal_min": metric.normal_min,
                    "normal_max": metric.normal_max,
                    "alarm_min": metric.alarm_min,
                    "alarm_max": metric.alarm_max,
                    "physical_min": metric.physical_min,
                    "physical_max": metric.physical_max,
                },
            )
            counts["metrics"].add(created=created)
        machine_types[type_seed.name] = machine_type
    return machine_types


def _machines_seed(
    *, profile: PlantProfile, machine_types: dict[str, MachineType], counts: dict[str, KindCounts]
) -> None:
    for machine in profile.machines:
        _, created = Machine.objects.get_or_create(
            code=machine.code,
            defaults={
                "name": machine.name,
                "machine_type": machine_types[machine.machine_type],
                "line": machine.line,
                "location": machine.location,
                "installed_at": machine.installed_at,
                "status": MachineStatus.RUNNING,
            },
        )
        counts["machines"].add(created=created)


def _error_codes_seed(*, counts: dict[str, KindCounts]) -> dict[str, ErrorCode]:
    error_codes = {}
    for code_seed in ERROR_CODES:
        error_code, created = ErrorCode.objects.get_or_create(
            code=code_seed.code,
            defaults={
                "title": code_seed.title,
                "severity": code_seed.severity,
                "failure_mode": code_seed.failure_mode,
                "description": code_seed.description,
            },
        )
        counts["error codes"].add(created=created)
        error_codes[code_seed.code] = error_code
    return error_codes


def _sops_seed(*, error_codes: dict[str, ErrorCode], counts: dict[str, KindCounts]) -> None:
    for sop_seed in SOPS:
        sop, created = SOP.objects.get_or_create(
            title=sop_seed.title,
            version=sop_seed.version,
            defaults={"summary": sop_seed.summary, "is_published": True},
        )
        counts["SOPs"].add(created=created)
        if not created:
            counts["SOP steps"].existing += sop.steps.count()
            continue
        sop.error_codes.add(error_codes[sop_seed.error_code])
        SOPStep.objects.bulk_create(
            SOPStep(
                sop=sop,
                order=order,
                instruction=step.instruction,
                warning=step.warning,
                tools=step.tools,
                estimated_minutes=step.estimated_minutes,
            )
            for order, step in enumerate(sop_seed.steps, start=1)
        )
        counts["SOP steps"].created += len(sop_seed.steps)


def _shifts_seed(*, profile: PlantProfile, counts: dict[str, KindCounts]) -> dict[str, Shift]:
    shifts = {}
    for shift_seed in profile.crew.shifts:
        shift, created = Shift.objects.get_or_create(
            name=shift_seed.name, defaults={"starts_at": shift_seed.starts_at, "ends_at": shift_seed.ends_at}
        )
        counts["shifts"].add(created=created)
        shifts[shift_seed.name] = shift
    return shifts


def _users_seed(
    *, users: tuple[UserSeed, ...], shifts: dict[str, Shift], reset_passwords: bool, counts: dict[str, KindCounts]
) -> list[DemoLogin]:
    user_model = get_user_model()
    logins = []
    for user_seed in users:
        user = user_model.objects.filter(username=user_seed.username).first()
        created = user is None
        password_shown = None
        if created:
            user = user_model.objects.create_user(
                username=user_seed.username,
                email=user_seed.email,
                password=user_seed.demo_password,
                first_name=user_seed.first_name,
                last_name=user_seed.last_name,
            )
            user_set_role(user=user, role=user_seed.role)
            for shift_name in user_seed.shifts:
                shifts[shift_name].technicians.add(user)
            password_shown = user_seed.demo_password
        elif reset_passwords:
            user.set_password(user_seed.demo_password)
            user.save(update_fields=["password"])
            password_shown = user_seed.demo_password
        counts["users"].add(created=created)
        logins.append(
            DemoLogin(
                username=user.username,
                full_name=user.get_full_name(),
                # What the account is now, which a supervisor may have changed since the first seed.
                role=user_role(user),
                shifts=tuple(user.shifts.order_by("starts_at").values_list("name", flat=True)),
                password=password_shown,
            )
        )
    return logins

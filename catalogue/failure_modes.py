"""The failure modes MaintainX tells apart: the one list the catalogue's ErrorCode, the simulator,
the demo seed and the models read. Plain Python: the simulator's engine imports no Django."""

BEARING_WEAR = "bearing_wear"
OVERHEATING = "overheating"
IMBALANCE = "imbalance"
LUBRICATION_LOSS = "lubrication_loss"
ELECTRICAL_FAULT = "electrical_fault"
OTHER = "other"

# value → what a person reads; in this order in forms and filters.
FAILURE_MODE_LABELS = {
    BEARING_WEAR: "Bearing wear",
    OVERHEATING: "Overheating",
    IMBALANCE: "Imbalance / misalignment",
    LUBRICATION_LOSS: "Lubrication loss",
    ELECTRICAL_FAULT: "Electrical fault",
    OTHER: "Other",
}

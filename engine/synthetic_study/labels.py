"""Label ids of the synthetic anatomy, the structures (prompt text) they make up, and MR contrast.

Labels are disjoint and fine-grained (one id per anatomical part, with separate ids per disc and
per vertebral body so level labelling can be trained); `STRUCTURES` maps the prompt text a model
is asked for to the union of label ids that answers it. Contrast is defined per *tissue*, which is
finer than the label where the appearance varies inside one part (cortex vs marrow inside a
vertebral body, nucleus vs annulus inside a disc, fat streaks inside a muscle).

"spinal canal" matches the SPIDER dataset's canal label (value 150): everything inside the
osseo-ligamentous canal, i.e. the dural sac (CSF, rootlets, conus) plus the anterior, lateral and
posterior epidural fat, bounded by the vertebral body/disc in front, the pedicles at the side and
the laminae/ligamentum flavum behind. The ligamentum flavum, the bulging disc and the foramina are
not part of it.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Label(IntEnum):
    BACKGROUND = 0
    VERTEBRA_T12 = 1
    VERTEBRA_L1 = 2
    VERTEBRA_L2 = 3
    VERTEBRA_L3 = 4
    VERTEBRA_L4 = 5
    VERTEBRA_L5 = 6
    SACRUM = 7  # S1 body and the sacrum below it
    POSTERIOR_ELEMENTS = 8  # pedicles, laminae, articular, spinous and transverse processes, alae
    VERTEBRA_THORACIC = 9  # thoracic vertebral bodies above T12
    DISC_T12_L1 = 10
    DISC_L1_L2 = 11
    DISC_L2_L3 = 12
    DISC_L3_L4 = 13
    DISC_L4_L5 = 14
    DISC_L5_S1 = 15
    DISC_THORACIC = 16  # thoracic discs above T12-L1
    CSF = 20
    CAUDA_EQUINA = 21  # rootlets inside the dural sac (clumped to grey at grades C/D)
    SPINAL_CORD = 22  # distal cord and conus medullaris
    EPIDURAL_FAT = 24  # anterior and lateral epidural fat and venous plexus
    POSTERIOR_EPIDURAL_FAT = 25
    LIGAMENTUM_FLAVUM = 26
    FACET_JOINT = 27  # cartilage and joint fluid between the articular processes
    NERVE_ROOT = 28  # exiting roots outside the dural sac
    FORAMINAL_FAT = 29
    PSOAS = 30
    PARASPINAL_MUSCLE = 31  # erector spinae and multifidus
    QUADRATUS_LUMBORUM = 32
    GLUTEAL_MUSCLE = 33
    INTERSPINOUS_LIGAMENT = 34
    SUBCUTANEOUS_FAT = 35
    SKIN = 36
    ABDOMEN = 37  # bowel, viscera and abdominal wall
    RETROPERITONEAL_FAT = 38
    GREAT_VESSELS = 39  # aorta, inferior vena cava, iliac vessels (flow voids)
    KIDNEY = 40


VERTEBRA_LABELS: tuple[Label, ...] = (
    Label.VERTEBRA_THORACIC,
    Label.VERTEBRA_T12,
    Label.VERTEBRA_L1,
    Label.VERTEBRA_L2,
    Label.VERTEBRA_L3,
    Label.VERTEBRA_L4,
    Label.VERTEBRA_L5,
    Label.SACRUM,
)
DISC_LABELS: tuple[Label, ...] = (
    Label.DISC_THORACIC,
    Label.DISC_T12_L1,
    Label.DISC_L1_L2,
    Label.DISC_L2_L3,
    Label.DISC_L3_L4,
    Label.DISC_L4_L5,
    Label.DISC_L5_S1,
)

LABEL_NAMES: dict[Label, str] = {
    Label.BACKGROUND: "background",
    Label.VERTEBRA_T12: "vertebral body T12",
    Label.VERTEBRA_L1: "vertebral body L1",
    Label.VERTEBRA_L2: "vertebral body L2",
    Label.VERTEBRA_L3: "vertebral body L3",
    Label.VERTEBRA_L4: "vertebral body L4",
    Label.VERTEBRA_L5: "vertebral body L5",
    Label.SACRUM: "sacrum",
    Label.POSTERIOR_ELEMENTS: "posterior vertebral elements",
    Label.VERTEBRA_THORACIC: "thoracic vertebral body above T12",
    Label.DISC_T12_L1: "intervertebral disc T12-L1",
    Label.DISC_L1_L2: "intervertebral disc L1-L2",
    Label.DISC_L2_L3: "intervertebral disc L2-L3",
    Label.DISC_L3_L4: "intervertebral disc L3-L4",
    Label.DISC_L4_L5: "intervertebral disc L4-L5",
    Label.DISC_L5_S1: "intervertebral disc L5-S1",
    Label.DISC_THORACIC: "thoracic intervertebral disc above T12-L1",
    Label.CSF: "cerebrospinal fluid",
    Label.CAUDA_EQUINA: "cauda equina",
    Label.SPINAL_CORD: "conus medullaris",
    Label.EPIDURAL_FAT: "anterior epidural fat",
    Label.POSTERIOR_EPIDURAL_FAT: "posterior epidural fat",
    Label.LIGAMENTUM_FLAVUM: "ligamentum flavum",
    Label.FACET_JOINT: "facet joint",
    Label.NERVE_ROOT: "exiting nerve root",
    Label.FORAMINAL_FAT: "foraminal fat",
    Label.PSOAS: "psoas muscle",
    Label.PARASPINAL_MUSCLE: "paraspinal muscle",
    Label.QUADRATUS_LUMBORUM: "quadratus lumborum",
    Label.GLUTEAL_MUSCLE: "gluteal muscle",
    Label.INTERSPINOUS_LIGAMENT: "interspinous ligament",
    Label.SUBCUTANEOUS_FAT: "subcutaneous fat",
    Label.SKIN: "skin",
    Label.ABDOMEN: "abdominal contents",
    Label.RETROPERITONEAL_FAT: "retroperitoneal fat",
    Label.GREAT_VESSELS: "great vessels",
    Label.KIDNEY: "kidney",
}

_DURAL_SAC = (Label.CSF, Label.CAUDA_EQUINA, Label.SPINAL_CORD)
_EPIDURAL = (Label.EPIDURAL_FAT, Label.POSTERIOR_EPIDURAL_FAT)

# Prompt text -> label ids whose union is that structure.
STRUCTURES: dict[str, tuple[Label, ...]] = {
    "vertebra": (*VERTEBRA_LABELS, Label.POSTERIOR_ELEMENTS),
    "vertebral body": VERTEBRA_LABELS,
    "intervertebral disc": DISC_LABELS,
    "spinal canal": (*_DURAL_SAC, *_EPIDURAL),
    "dural sac": _DURAL_SAC,
    "cerebrospinal fluid": (Label.CSF,),
    "cauda equina": (Label.CAUDA_EQUINA,),
    "posterior epidural fat": (Label.POSTERIOR_EPIDURAL_FAT,),
    "epidural fat": _EPIDURAL,
    "ligamentum flavum": (Label.LIGAMENTUM_FLAVUM,),
    "facet joint": (Label.FACET_JOINT,),
    "nerve root": (Label.NERVE_ROOT,),
    "psoas muscle": (Label.PSOAS,),
    "paraspinal muscle": (Label.PARASPINAL_MUSCLE,),
    "subcutaneous fat": (Label.SUBCUTANEOUS_FAT,),
}


class Tissue(IntEnum):
    """What decides the MR signal of a sample; finer than `Label` inside bones, discs, muscles."""

    AIR = 0
    MARROW = 1
    CORTEX = 2
    POSTERIOR_BONE = 3
    NUCLEUS = 4
    ANNULUS = 5
    CSF = 6
    ROOTLET = 7
    CORD = 8
    FAT = 9
    LIGAMENT = 10
    JOINT_FLUID = 11
    NERVE = 12
    MUSCLE = 13
    SKIN = 14
    BOWEL = 15
    FLOW_VOID = 16
    KIDNEY = 17
    ENDPLATE = 18


# Relative signal (0..1) per tissue on T2-weighted and T1-weighted turbo spin echo,
# columns (T2, T1). TSE keeps fat bright on T2 (J-coupling), CSF is bright only on T2.
TISSUE_SIGNAL = np.zeros((max(Tissue) + 1, 2), dtype=np.float32)
for _tissue, _t2, _t1 in (
    (Tissue.AIR, 0.0, 0.0),
    (Tissue.MARROW, 0.34, 0.62),
    (Tissue.CORTEX, 0.05, 0.06),
    (Tissue.POSTERIOR_BONE, 0.30, 0.55),
    (Tissue.NUCLEUS, 0.80, 0.33),
    (Tissue.ANNULUS, 0.16, 0.28),
    (Tissue.CSF, 1.0, 0.11),
    (Tissue.ROOTLET, 0.25, 0.30),
    (Tissue.CORD, 0.36, 0.36),
    (Tissue.FAT, 0.80, 0.95),
    (Tissue.LIGAMENT, 0.12, 0.27),
    (Tissue.JOINT_FLUID, 0.70, 0.22),
    (Tissue.NERVE, 0.30, 0.34),
    (Tissue.MUSCLE, 0.18, 0.32),
    (Tissue.SKIN, 0.35, 0.45),
    (Tissue.BOWEL, 0.35, 0.35),
    (Tissue.FLOW_VOID, 0.03, 0.05),
    (Tissue.KIDNEY, 0.52, 0.36),
    (Tissue.ENDPLATE, 0.07, 0.10),
):
    TISSUE_SIGNAL[_tissue] = (_t2, _t1)
TISSUE_SIGNAL.setflags(write=False)


def labels_json() -> dict[str, str]:
    """The `labels` object of ground_truth.json: id (as text) -> name."""
    return {str(int(label)): name for label, name in LABEL_NAMES.items()}


def structures_json() -> dict[str, list[int]]:
    """The `structures` object of ground_truth.json: prompt text -> label ids."""
    return {name: [int(label) for label in labels] for name, labels in STRUCTURES.items()}

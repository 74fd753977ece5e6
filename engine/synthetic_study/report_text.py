"""Radiologist-style reference reports for synthetic studies, with varied phrasing.

The wording follows real lumbar MRI notes ("Diffuse disc bulge noted at L4/L5 level, compressing
the thecal sac and encroaching both exit neural canals"). Every level gets one findings line
that states the Schizas grade and the dural sac area; the impression lists stenotic levels from
the most to the least severe. Phrasing (level notation, synonyms, sentence shape) is drawn from
the seed, so the references vary across studies as real reports do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.findings import SchizasGrade

SEVERITY_WORDS: dict[SchizasGrade, tuple[str, ...]] = {
    SchizasGrade.A: ("no significant", "adequate", "patent", "without significant"),
    SchizasGrade.B: ("moderate",),
    SchizasGrade.C: ("severe",),
    SchizasGrade.D: ("severe",),
}


@dataclass(frozen=True)
class ReportLevel:
    """What the report needs to know about one level."""

    level: str  # "L4-L5"
    grade: SchizasGrade
    dural_sac_area_mm2: float
    ap_diameter_mm: float
    morphology: str  # "none", "bulge", "diffuse bulge", "broad-based protrusion", "protrusion"
    protrusion_side: int  # -1 right, 0 central, +1 left
    pfirrmann: int


@dataclass(frozen=True)
class ReportContext:
    levels: tuple[ReportLevel, ...]  # L1-L2 first
    axial_style: str  # "continuous" or "angled"
    lordosis_deg: float
    conus_level: str  # e.g. "L1", "T12-L1", "L1-L2"


def format_level(level: str, style: int) -> str:
    """L4-L5 written as "L4-L5", "L4/L5" or "L4-5" (style 0, 1, 2)."""
    upper, lower = level.split("-")
    if style == 1:
        return f"{upper}/{lower}"
    if style == 2 and upper[0] == lower[0]:
        return f"{upper}-{lower[1:]}"
    return level


def compose_reference_report(ctx: ReportContext, rng: np.random.Generator) -> str:
    """The full report text (technique, findings per level, impression)."""
    style = int(rng.integers(3))
    line_style = int(rng.integers(3))
    sac = str(rng.choice(["thecal sac", "dural sac"]))
    lines: list[str] = [
        str(rng.choice(["MRI LUMBAR SPINE", "LSS MRI", "MRI OF THE LUMBOSACRAL SPINE", "Lumbosacral MRI"]))
    ]
    axial = (
        "axial T2-weighted images angled parallel to the discs from L1-L2 to L5-S1"
        if ctx.axial_style == "angled"
        else "contiguous axial T2-weighted images from L1 to S1"
    )
    lines.append(
        str(
            rng.choice(
                [
                    f"Technique: sagittal T1- and T2-weighted and {axial}.",
                    f"Technique: Sagittal T1 and T2 turbo spin echo, {axial}. No contrast.",
                    f"Sequences: sagittal T1W and T2W TSE; {axial}.",
                ]
            )
        )
    )
    lines.append("")
    lines.append("Findings:")
    if ctx.lordosis_deg < 33:
        lines.append(
            str(
                rng.choice(
                    [
                        "Straightening of the lumbar lordosis.",
                        "Features of muscle spasm (straightened lordosis).",
                    ]
                )
            )
        )
    else:
        lines.append(
            str(
                rng.choice(["Normal lumbar lordosis.", "Lumbar lordosis is maintained.", "Normal alignment."])
            )
        )
    lines.append(
        str(
            rng.choice(
                [
                    "Vertebral body heights and marrow signal are normal.",
                    "Normal vertebral body heights; no marrow signal abnormality.",
                ]
            )
        )
    )
    lines.append(f"The conus medullaris terminates at the {ctx.conus_level} level.")
    dry = [lv for lv in ctx.levels if lv.pfirrmann >= 4]
    if len(dry) >= 3:
        lines.append(
            str(rng.choice(["Multilevel disc desiccation.", "Multilevel desiccated disc material noted."]))
        )
    elif dry:
        names = " and ".join(format_level(lv.level, style) for lv in dry)
        lines.append(f"Disc desiccation at {names}.")
    for lv in ctx.levels:
        lines.append(_level_line(lv, style, line_style, sac, rng))
    lines.append("")
    lines.append("Impression:")
    lines += _impression(ctx.levels, style, sac, rng)
    return "\n".join(lines) + "\n"


def _disc_phrase(lv: ReportLevel, rng: np.random.Generator) -> str:
    if lv.morphology == "protrusion":
        side = {-1: "right paracentral", 0: "central", 1: "left paracentral"}[lv.protrusion_side]
        size = "small " if lv.grade is SchizasGrade.A else ""
        return f"{size}{side} disc protrusion"
    if lv.morphology == "broad-based protrusion":
        return str(rng.choice(["broad-based disc protrusion", "wide based disc bulge"]))
    if lv.morphology == "diffuse bulge":
        return str(rng.choice(["diffuse disc bulge", "diffuse annular disc bulge"]))
    return str(rng.choice(["mild disc bulge", "minimal disc bulge"]))


def _area(lv: ReportLevel, rng: np.random.Generator) -> str:
    area = round(lv.dural_sac_area_mm2)
    return str(
        rng.choice(
            [
                f"(Schizas {lv.grade.value}; dural sac area {area} mm², AP diameter {lv.ap_diameter_mm:.1f} mm)",
                f"(Schizas grade {lv.grade.value}, DSCA approx. {area} mm²)",
                f"[Schizas {lv.grade.value}, dural sac cross-sectional area {area} mm²]",
            ]
        )
    )


def _level_line(lv: ReportLevel, style: int, line_style: int, sac: str, rng: np.random.Generator) -> str:
    name = format_level(lv.level, style)
    g = lv.grade
    if g is SchizasGrade.A and lv.morphology == "none":
        body = str(
            rng.choice(
                [
                    "No disc bulge or herniation. No significant canal stenosis",
                    f"No disc herniation; the spinal canal is adequate, no {sac} compression",
                    "Normal disc. Spinal canal is patent",
                ]
            )
        )
    elif g is SchizasGrade.A:
        body = f"{_disc_phrase(lv, rng).capitalize()} abutting the {sac}, without significant canal stenosis"
    else:
        disc = _disc_phrase(lv, rng)
        if g is SchizasGrade.B:
            extra = str(
                rng.choice(["with mild ligamentum flavum thickening", "with facet joint hypertrophy"])
            )
            effect = f"moderately compressing the {sac}; moderate central canal stenosis"
        elif g is SchizasGrade.C:
            extra = "with ligamentum flavum hypertrophy and facet arthropathy"
            effect = str(
                rng.choice(
                    [
                        f"severely compressing the {sac} with crowding of the cauda equina; severe central canal stenosis",
                        "causing severe central canal stenosis; the nerve roots are no longer separable",
                    ]
                )
            )
        else:
            extra = "with marked ligamentum flavum hypertrophy and facet arthropathy"
            effect = str(
                rng.choice(
                    [
                        "causing severe (extreme) central canal stenosis with complete effacement of CSF and of the posterior epidural fat",
                        f"severely compressing the {sac}; severe central canal stenosis, no posterior epidural fat is seen",
                    ]
                )
            )
        foramina = ""
        if lv.morphology in ("diffuse bulge", "broad-based protrusion"):
            foramina = str(
                rng.choice(
                    [" and encroaching both exit neural canals", ", narrowing both neural foramina", ""]
                )
            )
        body = f"{disc.capitalize()} {extra}, {effect}{foramina}"
    area = _area(lv, rng)
    if line_style == 0:
        return f"{name}: {body} {area}."
    if line_style == 1:
        return f"At {name} level: {body[0].lower() + body[1:]} {area}."
    return f"{name} level: {body} {area}."


def _impression(levels: tuple[ReportLevel, ...], style: int, sac: str, rng: np.random.Generator) -> list[str]:
    order = {"A": 0, "B": 1, "C": 2, "D": 3}
    stenotic = sorted(
        (lv for lv in levels if lv.grade is not SchizasGrade.A),
        key=lambda lv: (-order[lv.grade.value], lv.dural_sac_area_mm2),
    )
    out = []
    for i, lv in enumerate(stenotic, start=1):
        name = format_level(lv.level, style)
        word = {"B": "Moderate", "C": "Severe", "D": "Severe (extreme)"}[lv.grade.value]
        cause = "disc bulge" if "bulge" in lv.morphology else "disc protrusion"
        if lv.grade is not SchizasGrade.B:
            cause += " and ligamentum flavum hypertrophy"
        out.append(f"{i}. {word} central canal stenosis at {name} (Schizas {lv.grade.value}) due to {cause}.")
    if not stenotic:
        first, last = format_level(levels[0].level, style), format_level(levels[-1].level, style)
        out.append(
            str(
                rng.choice(
                    [
                        f"No significant central canal stenosis from {first} to {last}.",
                        f"No significant {sac} or nerve root compression. Adequate spinal canal at all levels.",
                    ]
                )
            )
        )
    elif len(stenotic) < len(levels):
        out.append(f"{len(stenotic) + 1}. No significant canal stenosis at the other levels.")
    return out

"""An example postreport analysis, complete: each class's share of the test rows, true and predicted.

The contract of an analysis (every attribute below is read by postreport; only `name`, `title`, `compute` and
`items` are required):
- name, title, lead: the registry name, the section's heading, and one sentence under it.
- Settings: a dataclass. It becomes `analyses.<name>` in the config, defaults included, so `postreport --cfg job`
  shows it and a typo in a key fails at composition, naming the key.
- check(data, settings): raise postreport.errors.UserError when the settings cannot fit the data (exit 2,
  before any model is fitted).
- skip_reason(ctx): a sentence when the inputs cannot support the analysis (the section is "skipped"), else None.
- compute(ctx, settings): a result with to_json() (its payload under results.<name> in metrics.json), and
  optionally headline() (one sentence for the executive summary, or None). An exception here fails the section.
- items(result): report items (postreport.report.model: Paragraph, Note, KeyValues, Table, Figure with a spec
  from postreport.report.figures). An exception here fails the section too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from postreport.errors import UserError
from postreport.report.figures import Bars
from postreport.report.model import Figure, Note, Table


@dataclass
class Settings:
    min_share: float = 0.05  # classes predicted less often than this share are flagged


@dataclass
class Result:
    labels: list
    true_share: list
    predicted_share: list
    min_share: float

    def rare(self) -> list:
        return [label for label, share in zip(self.labels, self.predicted_share) if share < self.min_share]

    def headline(self) -> Optional[str]:
        rare = self.rare()
        return f"Rarely predicted classes (under {self.min_share:.0%}): {rare}." if rare else None

    def to_json(self) -> dict:
        return {"labels": self.labels, "true_share": self.true_share, "predicted_share": self.predicted_share,
                "rarely_predicted": self.rare()}


class ClassRates:
    name = "class_rates"
    title = "Class rates"
    lead = "How often each class occurs and how often the model predicts it."
    Settings = Settings

    def check(self, data, settings: Settings) -> None:
        if not 0 <= settings.min_share < 1:
            raise UserError(f"analyses.class_rates.min_share={settings.min_share} must be in [0, 1)")

    def skip_reason(self, ctx) -> Optional[str]:
        return "Class rates need classes; this is a regression task." if ctx.data.task == "regression" else None

    def compute(self, ctx, settings: Settings) -> Result:
        y, pred = ctx.predictions.y_true, ctx.predictions.y_pred
        labels = list(ctx.data.labels)
        return Result([str(label) for label in labels], [float(np.mean(y == label)) for label in labels],
                      [float(np.mean(pred == label)) for label in labels], settings.min_share)

    def items(self, r: Result) -> list:
        items = [Table(["Class", "Share of true labels", "Share of predictions"],
                       [[label, t, p] for label, t, p in zip(r.labels, r.true_share, r.predicted_share)],
                       caption="Each class's share of the test rows.", percent_columns=[1, 2]),
                 Figure(Bars(r.labels, r.predicted_share, title="Share of predictions", xlabel="share"),
                        caption="How often the model predicts each class.")]
        if r.rare():
            items.append(Note(r.headline(), "warning"))
        return items

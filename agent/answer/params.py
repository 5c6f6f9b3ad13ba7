"""The composer's few fitted parameters, read from composer_params.yaml (written by benchmarks/fit_composer.py)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from salesbot.yaml_files import load_yaml_model

PARAMS_PATH = Path(__file__).resolve().parent / "composer_params.yaml"


class ComposerParams(BaseModel):
    """Weights of the unit signals (BM25 over the unit weighs 1), the refusal threshold and two shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dense_weight: float = Field(default=0.5, ge=0, description="Cosine similarity of question and unit, rescaled over "
                                "the candidates (BM25 over the unit, divided by the best, weighs 1).")
    type_weight: float = Field(default=0.5, ge=0, description="The unit holds a value of the asked answer type.")
    entity_weight: float = Field(default=0.3, ge=0, description="The unit names the asked entity (+) or only siblings (-).")
    retrieval_weight: float = Field(default=0.3, ge=0, description="The passage's retrieval score relative to the best.")
    companion_share: float = Field(default=0.8, ge=0, le=1, description="Another unit is quoted too when it scores at "
                                   "least this share of the best unit.")
    refusal_threshold: float = Field(default=0.3, ge=0, le=1, description="Refuse when no top passage's support (IDF-"
                                     "weighted share of the question's terms it contains) reaches this.")
    out_of_corpus_weight: float = Field(default=0.6, ge=0, description="Weight of a question word the corpus never uses, "
                                        "as a share of the highest IDF.")


@cache
def composer_params() -> ComposerParams:
    """The fitted parameters (defaults when the file is missing)."""
    if not PARAMS_PATH.is_file():
        return ComposerParams()
    return load_yaml_model(PARAMS_PATH, ComposerParams)

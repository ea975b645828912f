"""Every config group composes; typos and wrong types fail at composition naming the key."""
import dataclasses

import pytest
from conftest import make_cfg
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, ValidationError

from postreport.errors import UserError
from postreport.resources import resource_dir
from postreport.run.runner import validate

CONF = resource_dir("conf")
GROUPS = {g: sorted(p.stem for p in (CONF / g).glob("*.yaml")) for g in ("data", "model", "report")}


def test_groups_have_the_documented_options():
    assert {"breast_cancer", "iris", "wine", "digits", "diabetes", "file"} <= set(GROUPS["data"])
    assert {"lightgbm", "random_forest", "logistic", "hist_gradient_boosting", "mlp", "file"} <= set(GROUPS["model"])


@pytest.mark.parametrize("group,option", [(g, o) for g, opts in GROUPS.items() for o in opts])
def test_every_option_composes(group, option):
    cfg = make_cfg([f"{group}={option}"])
    assert cfg[group].name if group != "report" else cfg.report.title
    if group == "model" and option != "file":
        assert cfg.model._target_ and cfg.model.preprocessing in ("none", "native", "trees", "linear")


def test_defaults_are_breast_cancer_lightgbm_all_formats():
    cfg = make_cfg()
    assert cfg.data.name == "breast_cancer" and cfg.model.name == "lightgbm"
    assert list(cfg.report.formats) == ["html", "pdf", "json"]
    assert cfg.model.params.n_jobs == cfg.n_jobs  # interpolated from the top level


@pytest.mark.parametrize("override,key", [
    ("data.tagret=y", "tagret"),
    ("report.titel=x", "titel"),
    ("model.pth=m.skops", "pth"),
    ("seed=abc", "seed"),
    ("data.test_size=big", "test_size"),
])
def test_typo_or_wrong_type_names_the_key(override, key):
    with pytest.raises((ConfigCompositionException, ConfigKeyError, ValidationError)) as err:
        make_cfg([override])
    assert key in str(err.value) + str(err.value.__cause__)


def test_unknown_group_option_lists_valid_ones():
    with pytest.raises(ConfigCompositionException) as err:
        make_cfg(["model=nonesuch"])
    assert "nonesuch" in str(err.value)


def test_analysis_settings_are_validated_against_the_analysis_schema():
    for override, key in (("analyses.confusion_matrix.topk=3", "topk"),
                          ("analyses.confusion_matrix.top_confusions=many", "top_confusions")):
        with pytest.raises(ConfigCompositionException) as err:  # at composition, before any work
            make_cfg([override])
        assert key in str(err.value)
    with pytest.raises(UserError, match="topk"):  # a key added with + gets through composition, not validation
        validate(make_cfg(["+analyses.confusion_matrix.topk=3"]))


def test_every_analysis_setting_is_in_the_composed_config_with_its_dataclass_default():
    """One source of defaults: the Settings dataclass; the composed config (postreport --cfg job) shows them."""
    from dataclasses import fields

    from postreport import registry

    cfg = make_cfg()
    for name, cls in registry.load_all().items():
        settings = getattr(cls, "Settings", None)
        for f in fields(settings) if settings else ():
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            composed = cfg.analyses[name][f.name]
            assert (OmegaConf.to_object(composed) if OmegaConf.is_config(composed) else composed) == default, \
                (name, f.name)
    assert validate(make_cfg(["analyses.thresholds.cost.fn=5"])).analyses["thresholds"][1].cost.fn == 5


def test_unknown_analysis_lists_valid_ones():
    with pytest.raises(UserError, match="valid: .*confusion_matrix.*metrics"):
        validate(make_cfg(["report.analyses=[metrics,nonesuch]"]))


def test_bad_format_is_refused():
    with pytest.raises(UserError, match="docx"):
        validate(make_cfg(["report.formats=[docx]"]))

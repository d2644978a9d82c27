"""The conformance kit: the checks pixelzoo applies to its own parts, for plugin authors' tests.

Call the function for your kind of part from your own test suite, with the registered name (or
the class itself, which is then registered for the duration of the check) and, if your `Config`
needs them, the parameters to build it with::

    from pixelzoo.testing import check_combiner

    def test_my_combiner_conforms():
        check_combiner("my_combiner", {"k": 3})

Each `check_*` function runs, where they apply to its kind: the interface (base class, class
attributes, a `Config` that forbids unknown keys), `Config` validation, shapes, gradient flow,
causality (combiners and decoders), determinism given a seed, and building from a recipe
(`pixelzoo.recipe.recipe_from_dict`). It returns nothing and raises `AssertionError` naming the
part, the check and what went wrong. pixelzoo's own tests run every registered part through the
same functions, so an installed plugin is checked there too. The models are tiny and run on the
CPU in double precision, so a check takes a second or two.

One module per kind of part (`combiners`, `decoders`, `models`, `masks`, `datasets`, `tasks`),
and `_kit` for what they share.
"""

from pixelzoo.testing.combiners import check_combiner
from pixelzoo.testing.datasets import check_dataset
from pixelzoo.testing.decoders import check_decoder
from pixelzoo.testing.masks import check_mask
from pixelzoo.testing.models import check_model
from pixelzoo.testing.tasks import check_task, kit_data

__all__ = ["check_combiner", "check_dataset", "check_decoder", "check_mask", "check_model",
           "check_task", "kit_data"]

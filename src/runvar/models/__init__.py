"""Models by name. Importing this package registers every built-in model."""

from . import small  # noqa: F401  (registers the models it defines)
from . import hidden  # noqa: F401
from . import resnet  # noqa: F401
from . import shufflenet  # noqa: F401
from . import vgg  # noqa: F401
from . import mnist  # noqa: F401  (SD's MnistNet)
from . import weight_selection  # noqa: F401  (registers conv2, conv4, conv6, lenet)
from .layers import SeededDropout, StochasticLayer, set_stochastic_generator
from .registry import MODELS, UnknownModelError, build_from_block, build_model, import_factory, register

__all__ = [
    "MODELS",
    "SeededDropout",
    "StochasticLayer",
    "UnknownModelError",
    "build_from_block",
    "build_model",
    "import_factory",
    "register",
    "set_stochastic_generator",
]

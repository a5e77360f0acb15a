"""Pure-numpy science of ISR and master calibrations: arrays in, arrays or dataclasses out."""

from .assembly import assemble as assemble
from .assembly import orient as orient
from .assembly import place as place
from .assembly import trim as trim
from .combine import ClipOptions as ClipOptions
from .combine import Combined as Combined
from .combine import clipped_combine as clipped_combine
from .combine import combine_rows as combine_rows
from .corrections import FlatCorrected as FlatCorrected
from .corrections import apply_gain as apply_gain
from .corrections import divide_flat as divide_flat
from .corrections import subtract_bias as subtract_bias
from .corrections import subtract_dark as subtract_dark
from .corrections import variance_plane as variance_plane
from .mask import MaskBit as MaskBit
from .mask import edge_slices as edge_slices
from .mask import mask_header as mask_header
from .mask import saturated as saturated
from .overscan import OverscanFit as OverscanFit
from .overscan import OverscanOptions as OverscanOptions
from .overscan import correct_overscan as correct_overscan
from .overscan import fit_overscan as fit_overscan
from .overscan import overscan_noise as overscan_noise
from .stats import robust_sigma as robust_sigma

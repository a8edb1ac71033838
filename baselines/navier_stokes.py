"""OpenCV's Navier-Stokes inpainting inside the given mask."""

from baselines.telea import Telea


class NavierStokes(Telea):
    """Propagates isophotes into the mask as a fluid flow (Bertalmio et al., 2001)."""

    name = "navier_stokes"
    paper = "https://doi.org/10.1109/CVPR.2001.990497"
    description = "OpenCV cv2.INPAINT_NS inside the box mask"
    flag = "INPAINT_NS"

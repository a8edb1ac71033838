"""A small numpy ray-caster: rooms and outdoor scenes of boxes and spheres, shaded and textured, with exact depth.

Depth is z-depth along the camera's optical axis (what NYUv2, KITTI and ETH3D store), in metres; sky pixels (and
ground beyond 80 m, as KITTI's evaluation cap) get depth 0 and are invalid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAR = 1e9


@dataclass
class Camera:
    """A pinhole camera at `position`, turned by `yaw` around the vertical and tilted by `pitch` (radians)."""

    position: np.ndarray
    yaw: float
    pitch: float
    fov: float  # horizontal field of view, radians

    def rotation(self) -> np.ndarray:
        """Camera-to-world rotation; camera axes x right, y up, z forward."""
        cy, sy, cp, sp = np.cos(self.yaw), np.sin(self.yaw), np.cos(self.pitch), np.sin(self.pitch)
        yaw = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        pitch = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])
        return yaw @ pitch

    def rays(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """World-space ray directions [H, W, 3] with unit z in camera space (so hit distance t = z-depth)."""
        focal = (width / 2) / np.tan(self.fov / 2)
        v, u = np.mgrid[0:height, 0:width] + 0.5
        local = np.stack([(u - width / 2) / focal, -(v - height / 2) / focal, np.ones((height, width))], axis=-1)
        return local @ self.rotation().T, focal


@dataclass
class Surface:
    """A procedural texture: two colours mixed by a checker, stripes or smooth noise pattern of world position."""

    base: np.ndarray
    other: np.ndarray
    pattern: str  # "plain", "checker", "stripes", "noise"
    scale: float
    phases: np.ndarray

    def albedo(self, points: np.ndarray) -> np.ndarray:
        x, y, z = points[..., 0] / self.scale, points[..., 1] / self.scale, points[..., 2] / self.scale
        if self.pattern == "checker":
            t = (np.floor(x) + np.floor(y + 1e-4) + np.floor(z)) % 2
        elif self.pattern == "stripes":
            t = (np.sin(2 * np.pi * (x + 0.5 * z) + self.phases[0]) > 0).astype(float)
        elif self.pattern == "noise":
            t = 0.5 + (np.sin(1.7 * x + self.phases[0]) * np.sin(2.3 * z + self.phases[1])
                       + 0.5 * np.sin(3.1 * y + 4.7 * x + self.phases[2])) / 3
        else:
            t = np.zeros_like(x)
        return self.base + (self.other - self.base) * t[..., None]


@dataclass
class Box:
    """An axis-aligned box (turned by `yaw` around its centre). `inside`: the camera is in it (a room)."""

    centre: np.ndarray
    half: np.ndarray
    yaw: float
    surface: Surface
    inside: bool = False

    def hit(self, origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        turn = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # world -> box frame
        o, d = turn @ (origin - self.centre), dirs @ turn.T
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.where(np.abs(d) < 1e-12, 1e-12, d)
            t1, t2 = (-self.half - o) * inv, (self.half - o) * inv
        near, far = np.minimum(t1, t2), np.maximum(t1, t2)
        t_near, t_far = near.max(-1), far.min(-1)
        if self.inside:
            t, axis = t_far, far.argmin(-1)
            sign = -np.sign(np.take_along_axis(d, axis[..., None], -1)[..., 0])  # normals point into the room
            ok = t_far > 0
        else:
            t, axis = t_near, near.argmax(-1)
            sign = -np.sign(np.take_along_axis(d, axis[..., None], -1)[..., 0])
            ok = (t_near <= t_far) & (t_near > 1e-6)
        normal = np.zeros(dirs.shape)
        np.put_along_axis(normal, axis[..., None], sign[..., None], -1)
        return np.where(ok, t, FAR), normal @ turn  # back to world


@dataclass
class Sphere:
    centre: np.ndarray
    radius: float
    surface: Surface

    def hit(self, origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        oc = origin - self.centre
        a = (dirs * dirs).sum(-1)
        b = 2 * (dirs @ oc)
        disc = b * b - 4 * a * ((oc * oc).sum() - self.radius ** 2)
        t = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
        ok = (disc > 0) & (t > 1e-6)
        points = origin + dirs * t[..., None]
        return np.where(ok, t, FAR), (points - self.centre) / self.radius


@dataclass
class Ground:
    """The plane y = 0, seen from above."""

    surface: Surface

    def hit(self, origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -origin[1] / dirs[..., 1]
        ok = (dirs[..., 1] < -1e-9) & (t > 0)
        normal = np.zeros(dirs.shape)
        normal[..., 1] = 1
        return np.where(ok, t, FAR), normal


@dataclass
class Scene:
    """Objects, a light direction, and what rays that hit nothing see (sky colours; depth 0, invalid)."""

    kind: str  # "indoor" or "outdoor"
    camera: Camera
    objects: list
    light: np.ndarray
    sky: tuple[np.ndarray, np.ndarray]
    fog: float
    max_depth: float  # hits farther than this count as horizon: sky-coloured, invalid

    def render(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """uint8 image [H, W, 3] and float32 depth [H, W] in metres (0 where nothing was hit within max_depth)."""
        dirs, _ = self.camera.rays(height, width)
        origin = self.camera.position
        best, normal, owner = np.full((height, width), FAR), np.zeros((height, width, 3)), np.full((height, width), -1)
        for index, obj in enumerate(self.objects):
            t, n = obj.hit(origin, dirs)
            closer = t < best
            best, owner = np.where(closer, t, best), np.where(closer, index, owner)
            normal = np.where(closer[..., None], n, normal)
        points = origin + dirs * best[..., None]
        colour = np.zeros((height, width, 3))
        for index, obj in enumerate(self.objects):
            mine = owner == index
            if mine.any():
                colour[mine] = obj.surface.albedo(points[mine])
        shade = 0.35 + 0.65 * np.clip((normal * self.light).sum(-1), 0, 1)
        colour *= shade[..., None]
        hit = (owner >= 0) & (best < self.max_depth)
        if self.fog > 0:
            haze = 1 - np.exp(-self.fog * np.where(hit, best, 0))
            colour = colour * (1 - haze[..., None]) + self.sky[1] * haze[..., None]
        up = np.clip(dirs[..., 1] / np.linalg.norm(dirs, axis=-1), 0, 1)[..., None]
        sky = self.sky[1] + (self.sky[0] - self.sky[1]) * up
        colour = np.where(hit[..., None], colour, sky)
        depth = np.where(hit, best, 0.0).astype(np.float32)  # t is z-depth: ray directions have unit camera z
        return np.clip(colour * 255, 0, 255).astype(np.uint8), depth


def _surface(rng: np.random.Generator, scale: tuple[float, float]) -> Surface:
    base = rng.uniform(0.15, 0.95, 3)
    other = np.clip(base * rng.uniform(0.4, 1.3) + rng.normal(0, 0.12, 3), 0, 1)
    pattern = str(rng.choice(["plain", "checker", "stripes", "noise"], p=[0.25, 0.25, 0.2, 0.3]))
    return Surface(base, other, pattern, float(rng.uniform(*scale)), rng.uniform(0, 2 * np.pi, 3))


def _light(rng: np.random.Generator) -> np.ndarray:
    light = np.array([rng.uniform(-1, 1), rng.uniform(0.5, 1.5), rng.uniform(-1, 1)])
    return light / np.linalg.norm(light)


def _objects(rng: np.random.Generator, count: int, spread_x: float, z_range: tuple[float, float], floor: float,
             size: tuple[float, float]) -> list:
    found: list = []
    for _ in range(count):
        x, z = rng.uniform(-spread_x, spread_x), rng.uniform(*z_range)
        s = rng.uniform(*size)
        if rng.random() < 0.5:
            half = np.array([s * rng.uniform(0.5, 1.2), s * rng.uniform(0.4, 1.5), s * rng.uniform(0.5, 1.2)])
            found.append(Box(np.array([x, floor + half[1], z]), half, float(rng.uniform(0, np.pi)), _surface(rng, (0.1, 0.5))))
        else:
            found.append(Sphere(np.array([x, floor + s, z]), s, _surface(rng, (0.1, 0.5))))
    return found


def indoor_scene(rng: np.random.Generator) -> Scene:
    """A room 4-10 m deep with furniture-sized boxes and spheres; every pixel hits something."""
    width, depth, height = rng.uniform(4, 8), rng.uniform(4, 10), rng.uniform(2.4, 3.5)
    room = Box(np.array([0, height / 2, depth / 2]), np.array([width / 2, height / 2, depth / 2]), 0.0,
               _surface(rng, (0.3, 1.0)), inside=True)
    camera = Camera(np.array([rng.uniform(-width / 4, width / 4), rng.uniform(1.0, 1.8), rng.uniform(0.2, 0.8)]),
                    float(rng.uniform(-0.35, 0.35)), float(rng.uniform(-0.3, 0.15)), float(np.deg2rad(rng.uniform(50, 80))))
    things = _objects(rng, int(rng.integers(2, 7)), width / 2 - 0.6, (1.5, depth - 0.6), 0.0, (0.2, 0.6))
    return Scene("indoor", camera, [room, *things], _light(rng), (np.zeros(3), np.zeros(3)), 0.0, 10.0)


def outdoor_scene(rng: np.random.Generator) -> Scene:
    """Ground, buildings-sized boxes and spheres up to ~80 m away, and sky (invalid depth)."""
    ground = Ground(_surface(rng, (0.5, 3.0)))
    camera = Camera(np.array([0.0, rng.uniform(1.2, 2.5), 0.0]), float(rng.uniform(-0.3, 0.3)),
                    float(rng.uniform(-0.2, 0.1)), float(np.deg2rad(rng.uniform(45, 90))))
    things = _objects(rng, int(rng.integers(3, 9)), 25.0, (6.0, 70.0), 0.0, (0.8, 6.0))
    top = np.array([rng.uniform(0.2, 0.5), rng.uniform(0.4, 0.7), rng.uniform(0.8, 1.0)])
    bottom = np.clip(top + rng.uniform(0.2, 0.5), 0, 1)
    return Scene("outdoor", camera, [ground, *things], _light(rng), (top, bottom), float(rng.uniform(0, 0.012)), 80.0)


def random_scene(rng: np.random.Generator) -> Scene:
    return indoor_scene(rng) if rng.random() < 0.5 else outdoor_scene(rng)

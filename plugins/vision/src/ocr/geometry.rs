//! Plane geometry the detector's post-processing needs: convex hulls and
//! minimum-area rectangles (rotating calipers), on float points.

/// A point in image coordinates (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Column.
    pub x: f32,
    /// Row.
    pub y: f32,
}

impl Point {
    /// `(x, y)`.
    pub fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }
}

/// A rotated rectangle as its four corners, clockwise on screen from the
/// top-left one: top-left, top-right, bottom-right, bottom-left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad(pub [Point; 4]);

impl Quad {
    /// The length of the top edge.
    pub fn width(&self) -> f32 {
        distance(self.0[0], self.0[1])
    }

    /// The length of the left edge.
    pub fn height(&self) -> f32 {
        distance(self.0[0], self.0[3])
    }

    /// The centre.
    pub fn center(&self) -> Point {
        let [a, b, c, d] = self.0;
        Point::new((a.x + b.x + c.x + d.x) / 4.0, (a.y + b.y + c.y + d.y) / 4.0)
    }

    /// The smallest and largest y of the corners.
    pub fn y_range(&self) -> (f32, f32) {
        let ys = self.0.map(|p| p.y);
        (
            ys.iter().copied().fold(f32::INFINITY, f32::min),
            ys.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        )
    }

    /// The smallest x of the corners.
    pub fn left(&self) -> f32 {
        self.0.iter().map(|p| p.x).fold(f32::INFINITY, f32::min)
    }

    /// The rectangle grown by `distance` on every side (what pyclipper's
    /// offset of a rectangle with round joins gives, once its minimum-area
    /// rectangle is taken again, as PaddleOCR's `unclip` does).
    pub fn grown(&self, distance: f32) -> Quad {
        let [a, b, _, d] = self.0;
        let along = unit(a, b);
        let down = unit(a, d);
        let (w, h) = (
            self.width() + 2.0 * distance,
            self.height() + 2.0 * distance,
        );
        let origin = Point::new(
            a.x - distance * (along.x + down.x),
            a.y - distance * (along.y + down.y),
        );
        rectangle(origin, along, down, w, h)
    }

    /// Whether `p` lies inside (edges included).
    pub fn contains(&self, p: Point) -> bool {
        let [a, b, _, d] = self.0;
        let (ab, ad) = (sub(b, a), sub(d, a));
        let ap = sub(p, a);
        let u = dot(ap, ab);
        let v = dot(ap, ad);
        (0.0..=dot(ab, ab)).contains(&u) && (0.0..=dot(ad, ad)).contains(&v)
    }

    /// Every corner multiplied by `(sx, sy)` and clamped to `[0, w] × [0, h]`.
    pub fn scaled(&self, sx: f32, sy: f32, w: f32, h: f32) -> Quad {
        Quad(
            self.0
                .map(|p| Point::new((p.x * sx).clamp(0.0, w), (p.y * sy).clamp(0.0, h))),
        )
    }
}

fn sub(a: Point, b: Point) -> Point {
    Point::new(a.x - b.x, a.y - b.y)
}

fn dot(a: Point, b: Point) -> f32 {
    a.x * b.x + a.y * b.y
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

/// Euclidean distance.
pub fn distance(a: Point, b: Point) -> f32 {
    (a.x - b.x).hypot(a.y - b.y)
}

fn unit(from: Point, to: Point) -> Point {
    let d = distance(from, to).max(f32::EPSILON);
    Point::new((to.x - from.x) / d, (to.y - from.y) / d)
}

fn rectangle(origin: Point, along: Point, down: Point, w: f32, h: f32) -> Quad {
    let at = |u: f32, v: f32| {
        Point::new(
            origin.x + along.x * u + down.x * v,
            origin.y + along.y * u + down.y * v,
        )
    };
    Quad([at(0.0, 0.0), at(w, 0.0), at(w, h), at(0.0, h)])
}

/// The convex hull, counter-clockwise in y-up terms (Andrew's monotone
/// chain); collinear points dropped.
pub fn convex_hull(points: &mut [Point]) -> Vec<Point> {
    if points.len() < 3 {
        return points.to_vec();
    }
    points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    let mut hull: Vec<Point> = Vec::with_capacity(points.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let ordered: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(points.iter())
        } else {
            Box::new(points.iter().rev())
        };
        for &p in ordered {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area rectangle around `points` (one of its sides lies on a
/// hull edge), with corners ordered as [`Quad`] says: the rectangle is
/// read as text, so its "top" is the long side nearer the top of the
/// image unless it stands more upright than 45°.
pub fn min_area_rect(points: &mut [Point]) -> Option<Quad> {
    let hull = convex_hull(points);
    if hull.len() < 3 {
        return None;
    }
    let mut best: Option<(f32, Point, Point, Point, f32, f32)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        if distance(a, b) < 1e-6 {
            continue;
        }
        let along = unit(a, b);
        let normal = Point::new(-along.y, along.x);
        let (mut min_u, mut max_u, mut min_v, mut max_v) = (
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        );
        for &p in &hull {
            let d = sub(p, a);
            let (u, v) = (dot(d, along), dot(d, normal));
            min_u = min_u.min(u);
            max_u = max_u.max(u);
            min_v = min_v.min(v);
            max_v = max_v.max(v);
        }
        let area = (max_u - min_u) * (max_v - min_v);
        if best.is_none_or(|b| area < b.0) {
            let origin = Point::new(
                a.x + along.x * min_u + normal.x * min_v,
                a.y + along.y * min_u + normal.y * min_v,
            );
            best = Some((area, origin, along, normal, max_u - min_u, max_v - min_v));
        }
    }
    let (_, origin, along, normal, w, h) = best?;
    Some(order_corners(rectangle(origin, along, normal, w, h)))
}

/// Orders a rectangle's corners top-left, top-right, bottom-right,
/// bottom-left, taking its long side as the reading direction.
fn order_corners(quad: Quad) -> Quad {
    let mut c = quad.0;
    // Make the first edge the long one.
    if distance(c[0], c[1]) < distance(c[1], c[2]) {
        c = [c[1], c[2], c[3], c[0]];
    }
    // The first edge now runs along the text; point it rightwards.
    if c[1].x < c[0].x || (c[1].x == c[0].x && c[1].y < c[0].y) {
        c = [c[2], c[3], c[0], c[1]];
    }
    // And make the first edge the upper one.
    let (top, bottom) = ((c[0].y + c[1].y) / 2.0, (c[2].y + c[3].y) / 2.0);
    if top > bottom {
        // c0 → c1 is the bottom edge, rightwards: c3 is the top-left corner.
        c = [c[3], c[2], c[1], c[0]];
    }
    Quad(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Point, b: Point) -> bool {
        distance(a, b) < 1e-3
    }

    #[test]
    fn an_axis_aligned_block_gives_its_own_rectangle_in_reading_order() {
        let mut points: Vec<Point> = (0..=20)
            .flat_map(|x| (0..=4).map(move |y| Point::new(10.0 + x as f32, 5.0 + y as f32)))
            .collect();
        let q = min_area_rect(&mut points).unwrap();
        let want = [
            Point::new(10.0, 5.0),
            Point::new(30.0, 5.0),
            Point::new(30.0, 9.0),
            Point::new(10.0, 9.0),
        ];
        for (got, want) in q.0.iter().zip(want) {
            assert!(close(*got, want), "{q:?}");
        }
        assert!((q.width() - 20.0).abs() < 1e-3 && (q.height() - 4.0).abs() < 1e-3);
    }

    #[test]
    fn a_tilted_line_keeps_its_long_side_on_top() {
        // A 40 × 8 rectangle turned by 10° (text tilted upwards to the right).
        let (s, c) = (-10f32).to_radians().sin_cos();
        let mut points = Vec::new();
        for u in 0..=40 {
            for v in 0..=8 {
                let (u, v) = (u as f32, v as f32);
                points.push(Point::new(100.0 + u * c - v * s, 100.0 + u * s + v * c));
            }
        }
        let q = min_area_rect(&mut points).unwrap();
        assert!((q.width() - 40.0).abs() < 1e-2, "{q:?}");
        assert!((q.height() - 8.0).abs() < 1e-2, "{q:?}");
        assert!(close(q.0[0], Point::new(100.0, 100.0)), "{q:?}");
        assert!(q.0[1].x > q.0[0].x && q.0[1].y < q.0[0].y, "{q:?}");
        let grown = q.grown(2.0);
        assert!((grown.width() - 44.0).abs() < 1e-2 && (grown.height() - 12.0).abs() < 1e-2);
        assert!(grown.contains(q.center()) && !q.contains(grown.0[0]));
    }
}

//! Reading order: recognised boxes sorted top to bottom, boxes on the
//! same row left to right, and rows joined into text.

use super::geometry::Quad;

/// One recognised piece of text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// The text.
    pub text: String,
    /// Mean character probability.
    pub confidence: f32,
    /// Where it is, in image pixels.
    pub quad: Quad,
}

/// Whether two boxes sit on one row: their vertical extents overlap by
/// more than half of the shorter one.
fn same_row(a: &Quad, b: &Quad) -> bool {
    let ((a0, a1), (b0, b1)) = (a.y_range(), b.y_range());
    let overlap = a1.min(b1) - a0.max(b0);
    overlap > 0.5 * (a1 - a0).min(b1 - b0)
}

/// Groups `boxes` into rows in reading order (top to bottom; within a
/// row, left to right). Left-to-right scripts only.
pub fn rows(mut boxes: Vec<TextBox>) -> Vec<Vec<TextBox>> {
    boxes.sort_by(|a, b| a.quad.center().y.total_cmp(&b.quad.center().y));
    let mut rows: Vec<Vec<TextBox>> = Vec::new();
    for b in boxes {
        match rows
            .iter_mut()
            .rev()
            .take(2)
            .find(|row| row.iter().any(|r| same_row(&r.quad, &b.quad)))
        {
            Some(row) => row.push(b),
            None => rows.push(vec![b]),
        }
    }
    for row in &mut rows {
        row.sort_by(|a, b| a.quad.left().total_cmp(&b.quad.left()));
    }
    rows
}

/// The text of `rows`: boxes on a row joined by a space, rows by a newline.
pub fn text(rows: &[Vec<TextBox>]) -> String {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::super::geometry::Point;
    use super::*;

    fn at(text: &str, x: f32, y: f32, w: f32, h: f32) -> TextBox {
        TextBox {
            text: text.into(),
            confidence: 1.0,
            quad: Quad([
                Point::new(x, y),
                Point::new(x + w, y),
                Point::new(x + w, y + h),
                Point::new(x, y + h),
            ]),
        }
    }

    #[test]
    fn rows_read_top_down_and_left_to_right() {
        let boxes = vec![
            at("world", 300.0, 12.0, 100.0, 30.0),
            at("second", 10.0, 60.0, 120.0, 30.0),
            at("Hello", 10.0, 10.0, 100.0, 30.0),
            at("line", 140.0, 64.0, 60.0, 28.0),
            at("third", 12.0, 110.0, 90.0, 30.0),
        ];
        let rows = rows(boxes);
        assert_eq!(text(&rows), "Hello world\nsecond line\nthird");
    }
}

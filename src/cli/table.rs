//! Tables for the terminal (fitted to its width, readable without colour), Markdown (for
//! pull requests) and CSV.

use std::io::IsTerminal;

/// How to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Aligned columns, cells cut with `…` to fit the width.
    Text,
    /// A Markdown table.
    Markdown,
    /// Comma-separated values, quoted as RFC 4180 wants.
    Csv,
}

/// The width to fit: the terminal's, or 100 columns when stdout is not a terminal.
pub fn width() -> usize {
    if std::io::stdout().is_terminal() {
        // SAFETY: TIOCGWINSZ writes a `winsize` into the struct we pass, nothing else.
        let mut size: libc::winsize = unsafe { std::mem::zeroed() };
        if unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0 && size.ws_col > 20 {
            return size.ws_col as usize;
        }
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).filter(|c| *c > 20).unwrap_or(100)
}

/// Renders `header` and `rows` (cells already text) in `style`, fitting `width` for text.
pub fn render(header: &[String], rows: &[Vec<String>], style: Style, width: usize) -> String {
    match style {
        Style::Csv => {
            let line = |cells: &[String]| cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
            let mut out = line(header) + "\n";
            for r in rows {
                out.push_str(&line(r));
                out.push('\n');
            }
            out
        }
        Style::Markdown => {
            let line = |cells: &[String]| {
                format!("| {} |", cells.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "))
            };
            let mut out = line(header) + "\n";
            out.push_str(&format!("|{}|\n", header.iter().map(|_| "---").collect::<Vec<_>>().join("|")));
            for r in rows {
                out.push_str(&line(r));
                out.push('\n');
            }
            out
        }
        Style::Text => text(header, rows, width),
    }
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() }
}

fn text(header: &[String], rows: &[Vec<String>], width: usize) -> String {
    let len = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| len(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(len(c));
        }
    }
    // Narrow the widest column until the table fits (two spaces between columns).
    let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
    while total(&widths) > width {
        let (i, w) = widths.iter().copied().enumerate().max_by_key(|(_, w)| *w).expect("a column");
        if w <= 6 {
            break;
        }
        widths[i] = w - 1;
    }
    let numeric: Vec<bool> = (0..header.len())
        .map(|i| {
            rows.iter().all(|r| {
                r[i].is_empty() || r[i].trim_start_matches(['+', '-']).trim_end_matches('%').parse::<f64>().is_ok()
            })
        })
        .collect();
    let cell = |c: &str, i: usize| {
        let w = widths[i];
        let c = if len(c) > w { c.chars().take(w - 1).collect::<String>() + "…" } else { c.to_string() };
        if numeric[i] { format!("{c:>w$}") } else { format!("{c:<w$}") }
    };
    let line = |cells: &[String]| {
        cells.iter().enumerate().map(|(i, c)| cell(c, i)).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    let mut out = line(header) + "\n";
    for r in rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn text_fits_the_width_and_aligns_numbers_right() {
        let out = render(
            &s(&["name", "auc"]),
            &[s(&["a-very-long-artifact-name", "0.8"]), s(&["b", "0.85"])],
            Style::Text,
            20,
        );
        assert_eq!(out, "name             auc\na-very-long-a…   0.8\nb               0.85\n");
    }

    #[test]
    fn markdown_and_csv_escape_their_separators() {
        assert_eq!(render(&s(&["k"]), &[s(&["a|b"])], Style::Markdown, 80), "| k |\n|---|\n| a\\|b |\n");
        assert_eq!(render(&s(&["k"]), &[s(&["a,\"b\""])], Style::Csv, 80), "k\n\"a,\"\"b\"\"\"\n");
    }
}

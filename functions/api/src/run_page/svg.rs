//! The workflow as a picture: an SVG drawn on the server from the workflow's IR (the
//! definition the API holds for every declared workflow, and records for every graph), each
//! node coloured by its state in the run.
//!
//! Agent steps are boxes, approval gates hexagons, branches diamonds, loop counters
//! stadiums; a parallel step is a frame with its branches side by side, a map step a frame
//! around its one item step, which counts the items. The layout is layered, top to bottom:
//! each node's layer is its longest path from the start, ignoring the edges that close loops
//! (found by a depth-first search from the start); edges spanning several layers pass
//! through placeholder slots so they go around boxes, not through them; nodes are ordered
//! within layers by the barycentres of their neighbours, then placed near them. Edges that
//! close loops run up a lane to the right of everything. Output is deterministic.
//!
//! Every node is a `<g class="node kind-… st-…" data-step="…">` whose `.state` text and
//! `st-…` class the page's script updates as the run moves.

use std::collections::BTreeSet;
use std::fmt::Write;

use maud::{html, Markup};
use switchyard_sdk::ir::{CompareOp, Condition, Edge, Literal, Step, StepKind, Target, Workflow};

use super::status::{colours, NodeState, RunStates, END, FAIL, START};

const MARGIN: f64 = 16.0;
/// Vertical space between layers, where edges bend and their labels sit.
const ROW_GAP: f64 = 56.0;
const COLUMN_GAP: f64 = 28.0;
/// The width a placeholder slot of a long edge takes in its layer.
const SLOT_WIDTH: f64 = 12.0;
const LANE_GAP: f64 = 16.0;
const TASK: (f64, f64) = (184.0, 62.0);
const GATE: (f64, f64) = (204.0, 62.0);
const CHOICE: (f64, f64) = (156.0, 70.0);
const LOOP: (f64, f64) = (164.0, 46.0);
const TERMINAL: (f64, f64) = (76.0, 30.0);
const PART: (f64, f64) = (160.0, 62.0);
const FRAME_PAD: f64 = 12.0;
const FRAME_HEADER: f64 = 26.0;
/// How far a gate's hexagon points stick out.
const GATE_INSET: f64 = 14.0;
/// Average glyph widths of the fonts used, for fitting text into boxes.
const NAME_CHAR: f64 = 7.6;
const SMALL_CHAR: f64 = 6.3;

/// What kind of node, as its class (`kind-<name>`) says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Terminal,
    Task,
    Gate,
    Choice,
    Loop,
    Parallel,
    Map,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Terminal => "terminal",
            Kind::Task => "task",
            Kind::Gate => "gate",
            Kind::Choice => "choice",
            Kind::Loop => "loop",
            Kind::Parallel => "parallel",
            Kind::Map => "map",
        }
    }
}

/// A branch of a parallel step, or a map's item step, drawn inside its frame.
#[derive(Clone, Debug, PartialEq)]
struct Part {
    key: String,
    agent: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Node {
    /// The step's name, or [`START`], [`END`], [`FAIL`].
    key: String,
    title: String,
    subtitle: Option<String>,
    kind: Kind,
    parts: Vec<Part>,
    width: f64,
    height: f64,
}

#[derive(Clone, Debug, PartialEq)]
struct Link {
    from: usize,
    to: usize,
    /// Why the edge is taken, when it is not simply the next step.
    label: Option<String>,
}

/// Why an edge is taken: its labels, or `None` when it is always taken.
type Reasons = Option<Vec<String>>;

/// The nodes and edges of a workflow's picture, before layout.
#[derive(Clone, Debug, PartialEq)]
struct Diagram {
    nodes: Vec<Node>,
    links: Vec<Link>,
}

impl Diagram {
    fn of(workflow: &Workflow) -> Diagram {
        let mut nodes = vec![terminal(START, "start")];
        nodes.extend(workflow.steps.iter().map(step_node));
        let step_index = |target: Target, nodes: &mut Vec<Node>| -> usize {
            let key = match target {
                Target::Step(id) => return 1 + id.index(),
                Target::End => END,
                Target::Fail => FAIL,
            };
            match nodes.iter().position(|n| n.key == key) {
                Some(index) => index,
                None => {
                    let title = if key == END { "end" } else { "fail" };
                    nodes.push(terminal(key, title));
                    nodes.len() - 1
                }
            }
        };
        // Edges between the same two nodes are drawn once; an edge always taken needs no
        // label, else the reasons are listed. In the order they were first met.
        let mut merged: Vec<((usize, usize), Reasons)> = Vec::new();
        let mut add = |from: usize, to: usize, label: Option<String>| {
            let index = match merged.iter().position(|(ends, _)| *ends == (from, to)) {
                Some(index) => index,
                None => {
                    merged.push(((from, to), Some(Vec::new())));
                    merged.len() - 1
                }
            };
            match (&mut merged[index].1, label) {
                (Some(labels), Some(label)) => labels.push(label),
                (labels, None) => *labels = None,
                (None, Some(_)) => {}
            }
        };
        add(0, 1 + workflow.start.index(), None);
        for (index, step) in workflow.steps.iter().enumerate() {
            for (label, target) in edge_labels(step) {
                let to = step_index(target, &mut nodes);
                add(1 + index, to, label);
            }
        }
        let links = merged
            .into_iter()
            .map(|((from, to), labels)| Link {
                from,
                to,
                label: labels.filter(|l| !l.is_empty()).map(|l| l.join(", ")),
            })
            .collect();
        Diagram { nodes, links }
    }
}

fn terminal(key: &str, title: &str) -> Node {
    Node {
        key: key.to_owned(),
        title: title.to_owned(),
        subtitle: None,
        kind: Kind::Terminal,
        parts: Vec::new(),
        width: TERMINAL.0,
        height: TERMINAL.1,
    }
}

fn step_node(step: &Step) -> Node {
    let node = |kind: Kind, subtitle: Option<String>, (width, height): (f64, f64)| Node {
        key: step.name.clone(),
        title: step.name.clone(),
        subtitle,
        kind,
        parts: Vec::new(),
        width,
        height,
    };
    match &step.kind {
        StepKind::Task { call, .. } => node(Kind::Task, Some(call.agent.clone()), TASK),
        StepKind::Approval(gate) => node(Kind::Gate, Some(gate.subject.clone()), GATE),
        StepKind::Branch { .. } => node(Kind::Choice, None, CHOICE),
        StepKind::Loop { max_iterations, .. } => node(
            Kind::Loop,
            Some(format!("at most {max_iterations} times")),
            LOOP,
        ),
        StepKind::Parallel { branches, .. } => {
            let parts: Vec<Part> = branches
                .iter()
                .map(|b| Part {
                    key: b.name.clone(),
                    agent: b.call.agent.clone(),
                })
                .collect();
            Node {
                parts,
                ..node(Kind::Parallel, Some("parallel".into()), (0.0, 0.0))
            }
            .framed()
        }
        StepKind::Map { items, item, .. } => Node {
            parts: vec![Part {
                key: item.name.clone(),
                agent: item.call.agent.clone(),
            }],
            ..node(Kind::Map, Some(format!("for each of {items}")), (0.0, 0.0))
        }
        .framed(),
    }
}

impl Node {
    /// A frame's size: its parts side by side under a header.
    fn framed(mut self) -> Node {
        let parts = self.parts.len().max(1) as f64;
        let inner = parts * PART.0 + (parts - 1.0) * FRAME_PAD;
        // The header: its title on the left, the state (up to 22 characters) on the right.
        let title = self.frame_title().chars().count() as f64 * NAME_CHAR;
        let header = title + 22.0 * SMALL_CHAR + 36.0;
        self.width = (inner + 2.0 * FRAME_PAD).max(header.min(480.0)).round();
        self.height = FRAME_HEADER + PART.1 + FRAME_PAD;
        self
    }
}

impl Node {
    /// A frame's header: `content · parallel`, `episodes · for each of episodes`.
    fn frame_title(&self) -> String {
        format!(
            "{} · {}",
            self.title,
            self.subtitle.as_deref().unwrap_or_default()
        )
    }
}

/// Every edge leaving `step` with why it is taken (`None`: it is the next step).
fn edge_labels(step: &Step) -> Vec<(Option<String>, Target)> {
    if let StepKind::Branch {
        arms,
        default,
        exhaustive_enum,
    } = &step.kind
    {
        let mut edges: Vec<(Option<String>, Target)> = arms
            .iter()
            .map(|arm| {
                let text = match (&arm.condition, exhaustive_enum) {
                    // An arm of a `match` on an enum reads as its variant.
                    (
                        Condition::Compare {
                            op: CompareOp::Eq,
                            value: Literal::String(variant),
                            ..
                        },
                        Some(_),
                    ) => variant.clone(),
                    (condition, _) => condition_text(condition),
                };
                (Some(text), arm.target)
            })
            .collect();
        if let Some(default) = default {
            edges.push((Some("otherwise".to_owned()), *default));
        }
        return edges;
    }
    let gate = matches!(step.kind, StepKind::Approval(_));
    step.edges()
        .into_iter()
        .map(|(edge, target)| {
            let label = match edge {
                Edge::Next if gate => Some("approved"),
                Edge::Next => None,
                Edge::Caught => Some("on error"),
                Edge::Arm | Edge::Default => Some("otherwise"),
                Edge::Exhausted => Some("exhausted"),
                Edge::Rejected => Some("rejected"),
                Edge::TimedOut => Some("timed out"),
            };
            (label.map(str::to_owned), target)
        })
        .collect()
}

/// A condition as Rust reads it: `total > 5000 && !vip`.
fn condition_text(condition: &Condition) -> String {
    let grouped = |c: &Condition| match c {
        Condition::And(_) | Condition::Or(_) => format!("({})", condition_text(c)),
        _ => condition_text(c),
    };
    match condition {
        Condition::Compare { field, op, value } => {
            let op = match op {
                CompareOp::Eq => "==",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
            };
            let value = match value {
                Literal::Bool(b) => b.to_string(),
                Literal::Integer(i) => i.to_string(),
                Literal::Float(f) => f.to_string(),
                Literal::String(s) => format!("\"{s}\""),
            };
            format!("{field} {op} {value}")
        }
        Condition::And(parts) => parts.iter().map(grouped).collect::<Vec<_>>().join(" && "),
        Condition::Or(parts) => parts.iter().map(grouped).collect::<Vec<_>>().join(" || "),
        Condition::Not(inner) => format!("!({})", condition_text(inner)),
    }
}

/// A box: top-left corner and size.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }

    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }

    fn bottom(&self) -> f64 {
        self.y + self.h
    }

    fn right(&self) -> f64 {
        self.x + self.w
    }

    fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }
}

/// An edge as drawn: its path, and where its label goes.
#[derive(Clone, Debug, PartialEq)]
struct Route {
    path: String,
    label: Option<(String, Rect)>,
    /// It closes a loop.
    back: bool,
}

/// Where everything goes.
#[derive(Clone, Debug, PartialEq)]
struct Layout {
    width: f64,
    height: f64,
    boxes: Vec<Rect>,
    routes: Vec<Route>,
}

/// The slots of the layered drawing: every node, then one placeholder per layer a long edge
/// crosses.
struct Slots {
    layer: Vec<usize>,
    width: Vec<f64>,
    /// Slots in the layer above / below connected to each slot.
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    /// Per forward link: the slots it passes through, in order (empty when it spans one layer).
    through: Vec<Vec<usize>>,
}

/// Which links close a loop: those reaching a node still being searched from, in a
/// depth-first search from the start (node 0), taking each node's edges in order.
fn back_links(diagram: &Diagram) -> (Vec<bool>, Vec<usize>) {
    let n = diagram.nodes.len();
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (index, link) in diagram.links.iter().enumerate() {
        out[link.from].push((link.to, index));
    }
    let mut back = vec![false; diagram.links.len()];
    let mut seen = vec![0u8; n];
    let mut found = vec![usize::MAX; n];
    let mut count = 0;
    for root in 0..n {
        if seen[root] != 0 {
            continue;
        }
        seen[root] = 1;
        found[root] = count;
        count += 1;
        let mut stack = vec![(root, 0usize)];
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&(to, link)) = out[node].get(*next) {
                *next += 1;
                match seen[to] {
                    0 => {
                        seen[to] = 1;
                        found[to] = count;
                        count += 1;
                        stack.push((to, 0));
                    }
                    1 => back[link] = true,
                    _ => {}
                }
            } else {
                seen[node] = 2;
                stack.pop();
            }
        }
    }
    (back, found)
}

/// Each node's layer: its longest path from the start over the edges that do not close loops.
fn layers(diagram: &Diagram, back: &[bool], found: &[usize]) -> Vec<usize> {
    let n = diagram.nodes.len();
    let forward: Vec<&Link> = diagram
        .links
        .iter()
        .zip(back)
        .filter(|(_, back)| !**back)
        .map(|(link, _)| link)
        .collect();
    let mut incoming = vec![0usize; n];
    for link in &forward {
        incoming[link.to] += 1;
    }
    let mut ready: BTreeSet<(usize, usize)> = (0..n)
        .filter(|v| incoming[*v] == 0)
        .map(|v| (found[v], v))
        .collect();
    let mut layer = vec![0usize; n];
    while let Some(first) = ready.iter().next().copied() {
        ready.remove(&first);
        let node = first.1;
        for link in forward.iter().filter(|l| l.from == node) {
            layer[link.to] = layer[link.to].max(layer[node] + 1);
            incoming[link.to] -= 1;
            if incoming[link.to] == 0 {
                ready.insert((found[link.to], link.to));
            }
        }
    }
    layer
}

fn slots(diagram: &Diagram, back: &[bool], layer: &[usize]) -> Slots {
    let n = diagram.nodes.len();
    let mut slots = Slots {
        layer: layer.to_vec(),
        width: diagram.nodes.iter().map(|node| node.width).collect(),
        up: vec![Vec::new(); n],
        down: vec![Vec::new(); n],
        through: vec![Vec::new(); diagram.links.len()],
    };
    for (index, link) in diagram.links.iter().enumerate() {
        if back[index] {
            continue;
        }
        let mut previous = link.from;
        for level in layer[link.from] + 1..layer[link.to] {
            let slot = slots.layer.len();
            slots.layer.push(level);
            slots.width.push(SLOT_WIDTH);
            slots.up.push(vec![previous]);
            slots.down.push(Vec::new());
            slots.down[previous].push(slot);
            slots.through[index].push(slot);
            previous = slot;
        }
        slots.down[previous].push(link.to);
        slots.up[link.to].push(previous);
    }
    slots
}

/// The order of the slots in each layer: depth-first order first, then sweeps that sort each
/// layer by the mean position of its neighbours in the layer before, down and up; the order
/// with the fewest crossings wins.
fn order(slots: &Slots, found: &[usize]) -> Vec<Vec<usize>> {
    let layers = slots.layer.iter().max().map_or(0, |l| l + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (slot, layer) in slots.layer.iter().enumerate() {
        rows[*layer].push(slot);
    }
    // A placeholder sorts after the node its edge leaves from.
    let key: Vec<f64> = (0..slots.layer.len())
        .map(|slot| match found.get(slot) {
            Some(found) => *found as f64,
            None => {
                let mut source = slot;
                while source >= found.len() {
                    source = slots.up[source][0];
                }
                found[source] as f64 + 0.5
            }
        })
        .collect();
    for row in &mut rows {
        row.sort_by(|a, b| key[*a].total_cmp(&key[*b]).then(a.cmp(b)));
    }
    let mut best = rows.clone();
    let mut fewest = crossings(slots, &rows);
    for sweep in 0..8 {
        let downward = sweep % 2 == 0;
        let levels: Vec<usize> = if downward {
            (1..layers).collect()
        } else {
            (0..layers.saturating_sub(1)).rev().collect()
        };
        for level in levels {
            let position = positions(&rows, slots.layer.len());
            let neighbours = if downward { &slots.up } else { &slots.down };
            let centre = |slot: usize| -> f64 {
                let around = &neighbours[slot];
                if around.is_empty() {
                    position[slot]
                } else {
                    around.iter().map(|s| position[*s]).sum::<f64>() / around.len() as f64
                }
            };
            let mut keyed: Vec<(f64, f64, usize)> = rows[level]
                .iter()
                .map(|s| (centre(*s), position[*s], *s))
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
            rows[level] = keyed.into_iter().map(|(_, _, s)| s).collect();
        }
        let count = crossings(slots, &rows);
        if count < fewest {
            fewest = count;
            best = rows.clone();
        }
    }
    best
}

fn positions(rows: &[Vec<usize>], slots: usize) -> Vec<f64> {
    let mut position = vec![0.0; slots];
    for row in rows {
        for (index, slot) in row.iter().enumerate() {
            position[*slot] = index as f64;
        }
    }
    position
}

/// Edge crossings between adjacent layers.
fn crossings(slots: &Slots, rows: &[Vec<usize>]) -> usize {
    let position = positions(rows, slots.layer.len());
    let mut count = 0;
    for row in rows {
        let edges: Vec<(f64, f64)> = row
            .iter()
            .flat_map(|s| slots.down[*s].iter().map(|t| (position[*s], position[*t])))
            .collect();
        for (i, a) in edges.iter().enumerate() {
            for b in &edges[i + 1..] {
                if (a.0 - b.0) * (a.1 - b.1) < 0.0 {
                    count += 1;
                }
            }
        }
    }
    count
}

/// Horizontal centres, by the priority method: each layer starts packed in its order, then,
/// alternately from above and below, each slot moves towards the mean centre of its
/// neighbours in the layer before, most connected first, pushing less connected slots
/// aside but never one already placed. Placeholders come first, so long edges run straight.
fn centres(slots: &Slots, rows: &[Vec<usize>], nodes: usize) -> Vec<f64> {
    let separation = |a: usize, b: usize| {
        let gap = if a < nodes && b < nodes {
            COLUMN_GAP
        } else {
            SLOT_WIDTH
        };
        (slots.width[a] + slots.width[b]) / 2.0 + gap
    };
    let mut centre = vec![0.0; slots.layer.len()];
    for row in rows {
        let mut x = 0.0;
        for (index, slot) in row.iter().enumerate() {
            if index > 0 {
                x += separation(row[index - 1], *slot);
            }
            centre[*slot] = x;
        }
    }
    for round in 0..6 {
        let downward = round % 2 == 0;
        let levels: Vec<usize> = if downward {
            (1..rows.len()).collect()
        } else {
            (0..rows.len().saturating_sub(1)).rev().collect()
        };
        let neighbours = if downward { &slots.up } else { &slots.down };
        for level in levels {
            let row = &rows[level];
            let mut by_priority: Vec<usize> = (0..row.len()).collect();
            by_priority.sort_by_key(|i| {
                let slot = row[*i];
                let priority = if slot >= nodes {
                    usize::MAX
                } else {
                    neighbours[slot].len()
                };
                (std::cmp::Reverse(priority), *i)
            });
            let mut placed = vec![false; row.len()];
            for i in by_priority {
                placed[i] = true;
                let around = &neighbours[row[i]];
                if around.is_empty() {
                    continue;
                }
                let wanted = around.iter().map(|s| centre[*s]).sum::<f64>() / around.len() as f64;
                let here = centre[row[i]];
                if wanted > here {
                    // As far right as the nearest placed slot to the right allows.
                    let mut limit = f64::INFINITY;
                    let mut room = 0.0;
                    for j in i + 1..row.len() {
                        room += separation(row[j - 1], row[j]);
                        if placed[j] {
                            limit = centre[row[j]] - room;
                            break;
                        }
                    }
                    centre[row[i]] = wanted.min(limit).max(here);
                    for j in i + 1..row.len() {
                        let least = centre[row[j - 1]] + separation(row[j - 1], row[j]);
                        centre[row[j]] = centre[row[j]].max(least);
                    }
                } else if wanted < here {
                    let mut limit = f64::NEG_INFINITY;
                    let mut room = 0.0;
                    for j in (0..i).rev() {
                        room += separation(row[j], row[j + 1]);
                        if placed[j] {
                            limit = centre[row[j]] + room;
                            break;
                        }
                    }
                    centre[row[i]] = wanted.max(limit).min(here);
                    for j in (0..i).rev() {
                        let most = centre[row[j + 1]] - separation(row[j], row[j + 1]);
                        centre[row[j]] = centre[row[j]].min(most);
                    }
                }
            }
        }
    }
    centre
}

fn layout(diagram: &Diagram) -> Layout {
    let nodes = diagram.nodes.len();
    let (back, found) = back_links(diagram);
    let layer = layers(diagram, &back, &found);
    let slots = slots(diagram, &back, &layer);
    let rows = order(&slots, &found);
    let centre = centres(&slots, &rows, nodes);
    let left = (0..slots.layer.len())
        .map(|s| centre[s] - slots.width[s] / 2.0)
        .fold(f64::INFINITY, f64::min);
    let shift = MARGIN - left;
    let heights: Vec<f64> = rows
        .iter()
        .map(|row| {
            row.iter()
                .filter(|s| **s < nodes)
                .map(|s| diagram.nodes[*s].height)
                .fold(0.0, f64::max)
        })
        .collect();
    let mut tops = Vec::with_capacity(rows.len());
    let mut y = MARGIN;
    for height in &heights {
        tops.push(y);
        y += height + ROW_GAP;
    }
    let height = y - ROW_GAP + MARGIN;
    let boxes: Vec<Rect> = diagram
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let level = layer[index];
            Rect {
                x: (centre[index] + shift - node.width / 2.0).round(),
                y: (tops[level] + (heights[level] - node.height) / 2.0).round(),
                w: node.width,
                h: node.height,
            }
        })
        .collect();
    let slot_x = |slot: usize| (centre[slot] + shift).round();
    let content_right = (0..slots.layer.len())
        .map(|s| slot_x(s) + slots.width[s] / 2.0)
        .fold(0.0, f64::max);

    // Ports: edges leave a node's bottom and enter its top spread out in the order of where
    // they go (come from); those closing loops leave and enter rightmost.
    let next_x = |index: usize| -> f64 {
        if back[index] {
            return f64::INFINITY;
        }
        match slots.through[index].first() {
            Some(slot) => slot_x(*slot),
            None => boxes[diagram.links[index].to].cx(),
        }
    };
    let previous_x = |index: usize| -> f64 {
        if back[index] {
            return f64::INFINITY;
        }
        match slots.through[index].last() {
            Some(slot) => slot_x(*slot),
            None => boxes[diagram.links[index].from].cx(),
        }
    };
    let mut out_port = vec![(0.0, 0.0, Side::Bottom); diagram.links.len()];
    let mut in_port = vec![(0.0, 0.0); diagram.links.len()];
    for (index, node) in diagram.nodes.iter().enumerate() {
        let rect = boxes[index];
        let mut leaving: Vec<usize> = (0..diagram.links.len())
            .filter(|l| diagram.links[*l].from == index)
            .collect();
        leaving.sort_by(|a, b| next_x(*a).total_cmp(&next_x(*b)).then(a.cmp(b)));
        for (i, link) in leaving.iter().enumerate() {
            out_port[*link] = exit(node.kind, &rect, i, leaving.len());
        }
        let mut entering: Vec<usize> = (0..diagram.links.len())
            .filter(|l| diagram.links[*l].to == index)
            .collect();
        entering.sort_by(|a, b| previous_x(*a).total_cmp(&previous_x(*b)).then(a.cmp(b)));
        for (i, link) in entering.iter().enumerate() {
            in_port[*link] = entry(node.kind, &rect, i, entering.len());
        }
    }

    let mut labels: Vec<Rect> = Vec::new();
    let mut lanes = 0;
    let mut routes = Vec::with_capacity(diagram.links.len());
    for (index, link) in diagram.links.iter().enumerate() {
        let (sx, sy, side) = out_port[index];
        let (tx, ty) = in_port[index];
        let (path, anchor) = if back[index] {
            lanes += 1;
            let lane = content_right + LANE_GAP * lanes as f64;
            let stagger = 6.0 * (lanes % 3) as f64;
            let below =
                tops[layer[link.from]] + heights[layer[link.from]] + ROW_GAP * 0.3 + stagger;
            let above = tops[layer[link.to]] - ROW_GAP * 0.3 - stagger;
            let points = [
                (sx, sy),
                (sx, below),
                (lane, below),
                (lane, above),
                (tx, above),
                (tx, ty),
            ];
            (rounded(&points), (lane, (below + above) / 2.0))
        } else {
            let mut points = vec![(sx, sy)];
            for slot in &slots.through[index] {
                let level = slots.layer[*slot];
                points.push((slot_x(*slot), tops[level]));
                points.push((slot_x(*slot), tops[level] + heights[level]));
            }
            points.push((tx, ty));
            let first = points[1];
            let anchor = match side {
                Side::Bottom => ((sx + first.0) / 2.0, (sy + first.1) / 2.0),
                Side::Left | Side::Right => (first.0, (sy + first.1) / 2.0),
            };
            (curve(&points, side), anchor)
        };
        let label = link.label.as_ref().map(|text| {
            let text = fit(text, 30);
            let w = text.chars().count() as f64 * SMALL_CHAR + 8.0;
            let mut rect = Rect {
                x: (anchor.0 - w / 2.0).round(),
                y: (anchor.1 - 8.0).round(),
                w,
                h: 16.0,
            };
            // Labels of edges leaving one node would sit on each other: step the later down.
            for _ in 0..4 {
                if labels.iter().any(|l| l.overlaps(&rect)) {
                    rect.y += 16.0;
                }
            }
            labels.push(rect);
            (text, rect)
        });
        routes.push(Route {
            path,
            label,
            back: back[index],
        });
    }
    let label_right = labels.iter().map(Rect::right).fold(0.0, f64::max);
    let width = (content_right + LANE_GAP * lanes as f64).max(label_right) + MARGIN;
    Layout {
        width: width.round(),
        height: height.round(),
        boxes,
        routes,
    }
}

/// Where an edge leaves a node.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Bottom,
    Left,
    Right,
}

/// The `i`-th of `count` edges leaving a node: along its bottom, or for a diamond, its left,
/// bottom and right corners.
fn exit(kind: Kind, rect: &Rect, i: usize, count: usize) -> (f64, f64, Side) {
    match kind {
        Kind::Choice if count > 1 && i == 0 => (rect.x, rect.cy(), Side::Left),
        Kind::Choice if count > 1 && i == count - 1 => (rect.right(), rect.cy(), Side::Right),
        Kind::Choice | Kind::Terminal => (rect.cx(), rect.bottom(), Side::Bottom),
        _ => (spread(kind, rect, i, count), rect.bottom(), Side::Bottom),
    }
}

/// The `i`-th of `count` edges entering a node: along its top.
fn entry(kind: Kind, rect: &Rect, i: usize, count: usize) -> (f64, f64) {
    match kind {
        Kind::Choice | Kind::Terminal => (rect.cx(), rect.y),
        _ => (spread(kind, rect, i, count), rect.y),
    }
}

fn spread(kind: Kind, rect: &Rect, i: usize, count: usize) -> f64 {
    let inset = match kind {
        Kind::Gate => GATE_INSET,
        Kind::Loop => rect.h / 2.0,
        _ => 8.0,
    };
    let span = rect.w - 2.0 * inset;
    (rect.x + inset + span * (i + 1) as f64 / (count + 1) as f64).round()
}

/// A smooth path through `points`: vertical runs straight, each step between layers an S.
fn curve(points: &[(f64, f64)], side: Side) -> String {
    let mut path = String::new();
    let _ = write!(path, "M{:.1},{:.1}", points[0].0, points[0].1);
    for (index, pair) in points.windows(2).enumerate() {
        let ((x1, y1), (x2, y2)) = (pair[0], pair[1]);
        let bend = (y2 - y1) / 2.0;
        if index == 0 && side != Side::Bottom {
            let _ = write!(path, " C{x2:.1},{y1:.1} {x2:.1},{y1:.1} {x2:.1},{y2:.1}");
        } else if (x1 - x2).abs() < 0.5 {
            let _ = write!(path, " L{x2:.1},{y2:.1}");
        } else {
            let _ = write!(
                path,
                " C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
                y1 + bend,
                y2 - bend
            );
        }
    }
    path
}

/// A path along `points` (horizontal and vertical runs) with rounded corners.
fn rounded(points: &[(f64, f64)]) -> String {
    const RADIUS: f64 = 8.0;
    let mut path = String::new();
    let _ = write!(path, "M{:.1},{:.1}", points[0].0, points[0].1);
    for index in 1..points.len() {
        let (x, y) = points[index];
        match points.get(index + 1) {
            Some(&(nx, ny)) => {
                let (px, py) = points[index - 1];
                let toward = |from: f64, to: f64, len: f64| {
                    from + (to - from).signum() * RADIUS.min(len / 2.0)
                };
                let before = (
                    toward(x, px, (x - px).abs().max((y - py).abs())),
                    toward(y, py, (x - px).abs().max((y - py).abs())),
                );
                let after = (
                    toward(x, nx, (x - nx).abs().max((y - ny).abs())),
                    toward(y, ny, (x - nx).abs().max((y - ny).abs())),
                );
                let _ = write!(
                    path,
                    " L{:.1},{:.1} Q{x:.1},{y:.1} {:.1},{:.1}",
                    before.0, before.1, after.0, after.1
                );
            }
            None => {
                let _ = write!(path, " L{x:.1},{y:.1}");
            }
        }
    }
    path
}

/// `text`, cut to `chars` with an ellipsis.
fn fit(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(chars.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

fn chars_in(width: f64, per_char: f64) -> usize {
    ((width - 16.0) / per_char).max(4.0) as usize
}

/// The style sheet of the picture: every state's colours from [`colours`].
pub fn style() -> String {
    let mut css = String::from(
        ".wf text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:12px}\
         .wf .name{font-weight:600;font-size:13px}\
         .wf .sub{font-size:11px;fill:#475569}\
         .wf .state{font-size:11px}\
         .wf .shape{stroke-width:1.6}\
         .wf .frame>.shape{fill-opacity:.35;stroke-dasharray:5 3}\
         .wf .edge{fill:none;stroke:#94a3b8;stroke-width:1.4}\
         .wf .edge.back{stroke-dasharray:4 3}\
         .wf .edge-label rect{fill:#fff;stroke:#e2e8f0}\
         .wf .edge-label text{font-size:11px;fill:#475569}\
         .wf .arrow{fill:#94a3b8}\
         @keyframes wf-pulse{50%{stroke-opacity:.3}}\
         .wf .st-running>.shape{animation:wf-pulse 1.4s ease-in-out infinite;stroke-width:2.4}\
         .wf .st-waiting>.shape{stroke-width:2.4}",
    );
    for state in NodeState::ALL {
        let c = colours(state);
        let _ = write!(
            css,
            ".wf .{class}>.shape{{fill:{fill};stroke:{stroke}}}.wf .{class}>text{{fill:{text}}}",
            class = state.class(),
            fill = c.fill,
            stroke = c.stroke,
            text = c.text,
        );
    }
    css
}

/// The workflow's picture with each node in its state: inline SVG.
pub fn render(workflow: &Workflow, states: &RunStates) -> Markup {
    let diagram = Diagram::of(workflow);
    let layout = layout(&diagram);
    html! {
        svg.wf xmlns="http://www.w3.org/2000/svg"
            viewBox={ "0 0 " (layout.width) " " (layout.height) }
            width=(layout.width) height=(layout.height)
            role="img" aria-label={ "The steps of workflow " (workflow.name) ", coloured by their state" } {
            defs {
                marker #wf-arrow viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"
                    markerHeight="7" orient="auto-start-reverse" {
                    path.arrow d="M0,0 L10,5 L0,10 z" {}
                }
            }
            g.edges {
                @for route in &layout.routes {
                    path class=(if route.back { "edge back" } else { "edge" }) d=(route.path)
                        marker-end="url(#wf-arrow)" {}
                }
            }
            g.nodes {
                @for (node, rect) in diagram.nodes.iter().zip(&layout.boxes) {
                    (node_markup(node, rect, states))
                }
            }
            g.labels {
                @for (text, rect) in layout.routes.iter().filter_map(|r| r.label.as_ref()) {
                    g.edge-label {
                        rect x=(rect.x) y=(rect.y) width=(rect.w) height=(rect.h) rx="4" {}
                        text x=(rect.cx()) y=(rect.y + 12.0) text-anchor="middle" { (text) }
                    }
                }
            }
        }
    }
}

fn node_markup(node: &Node, rect: &Rect, states: &RunStates) -> Markup {
    let status = states.get(&node.key);
    let class = format!("node kind-{} {}", node.kind.name(), status.state.class());
    let tooltip = match &node.subtitle {
        Some(subtitle) => format!("{} ({subtitle}): {}", node.title, status.detail),
        None => format!("{}: {}", node.title, status.detail),
    };
    let (x, y, w, h, cx, cy) = (rect.x, rect.y, rect.w, rect.h, rect.cx(), rect.cy());
    let name_chars = chars_in(w, NAME_CHAR);
    let small_chars = chars_in(w, SMALL_CHAR);
    match node.kind {
        Kind::Parallel | Kind::Map => {
            let parts_width = node.parts.len() as f64 * (PART.0 + FRAME_PAD) - FRAME_PAD;
            let first = cx - parts_width / 2.0;
            let title = node.frame_title();
            html! {
                g class={ (class) " frame" } data-step=(node.key) {
                    title { (tooltip) }
                    rect.shape x=(x) y=(y) width=(w) height=(h) rx="10" {}
                    text.name x=(x + 10.0) y=(y + 17.0) { (fit(&title, chars_in(w - 22.0 * SMALL_CHAR - 20.0, NAME_CHAR))) }
                    text.state x=(x + w - 10.0) y=(y + 17.0) text-anchor="end" data-max="22" {
                        (fit(&status.detail, 22))
                    }
                }
                @for (i, part) in node.parts.iter().enumerate() {
                    (part_markup(part, Rect {
                        x: (first + i as f64 * (PART.0 + FRAME_PAD)).round(),
                        y: y + FRAME_HEADER,
                        w: PART.0,
                        h: PART.1,
                    }, states))
                }
            }
        }
        _ => html! {
            g class=(class) data-step=(node.key) {
                title { (tooltip) }
                @match node.kind {
                    Kind::Gate => {
                        polygon.shape points=(hexagon(rect)) {}
                    }
                    Kind::Choice => {
                        polygon.shape points=(format!(
                            "{cx:.1},{y:.1} {:.1},{cy:.1} {cx:.1},{:.1} {x:.1},{cy:.1}",
                            x + w,
                            y + h
                        )) {}
                    }
                    Kind::Loop | Kind::Terminal => {
                        rect.shape x=(x) y=(y) width=(w) height=(h) rx=(h / 2.0) {}
                    }
                    _ => {
                        rect.shape x=(x) y=(y) width=(w) height=(h) rx="8" {}
                    }
                }
                @match node.kind {
                    Kind::Choice => {
                        text.name x=(cx) y=(cy + 4.0) text-anchor="middle" { (fit(&node.title, 14)) }
                    }
                    Kind::Terminal => {
                        text.name x=(cx) y=(cy + 4.0) text-anchor="middle" { (node.title) }
                    }
                    Kind::Loop => {
                        text.name x=(cx) y=(cy - 2.0) text-anchor="middle" { (fit(&node.title, name_chars - 2)) }
                        text.sub x=(cx) y=(cy + 13.0) text-anchor="middle" {
                            (node.subtitle.as_deref().unwrap_or_default())
                        }
                    }
                    _ => {
                        text.name x=(cx) y=(y + 20.0) text-anchor="middle" { (fit(&node.title, name_chars)) }
                        text.sub x=(cx) y=(y + 36.0) text-anchor="middle" {
                            (fit(node.subtitle.as_deref().unwrap_or_default(), small_chars))
                        }
                        text.state x=(cx) y=(y + 52.0) text-anchor="middle" data-max=(small_chars) {
                            (fit(&status.detail, small_chars))
                        }
                    }
                }
            }
        },
    }
}

fn hexagon(rect: &Rect) -> String {
    let (x, y, w, h) = (rect.x, rect.y, rect.w, rect.h);
    let cy = rect.cy();
    format!(
        "{:.1},{y:.1} {:.1},{y:.1} {:.1},{cy:.1} {:.1},{:.1} {:.1},{:.1} {x:.1},{cy:.1}",
        x + GATE_INSET,
        x + w - GATE_INSET,
        x + w,
        x + w - GATE_INSET,
        y + h,
        x + GATE_INSET,
        y + h
    )
}

fn part_markup(part: &Part, rect: Rect, states: &RunStates) -> Markup {
    let status = states.get(&part.key);
    let chars = chars_in(rect.w, SMALL_CHAR);
    html! {
        g class={ "node kind-part " (status.state.class()) } data-step=(part.key) {
            title { (part.key) " (" (part.agent) "): " (status.detail) }
            rect.shape x=(rect.x) y=(rect.y) width=(rect.w) height=(rect.h) rx="8" {}
            text.name x=(rect.cx()) y=(rect.y + 20.0) text-anchor="middle" {
                (fit(&part.key, chars_in(rect.w, NAME_CHAR)))
            }
            text.sub x=(rect.cx()) y=(rect.y + 36.0) text-anchor="middle" { (fit(&part.agent, chars)) }
            text.state x=(rect.cx()) y=(rect.y + 52.0) text-anchor="middle" data-max=(chars) {
                (fit(&status.detail, chars))
            }
        }
    }
}

/// The legend: one swatch per state, in the same colours.
pub fn legend() -> Markup {
    html! {
        ul.legend {
            @for state in NodeState::ALL {
                @let c = colours(state);
                li {
                    span.swatch style={ "background:" (c.fill) ";border-color:" (c.stroke) } {}
                    (state.label())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    fn rendered(workflow: &Workflow, states: &RunStates) -> String {
        render(workflow, states).into_string()
    }

    fn workflows() -> Vec<Workflow> {
        switchyard_agents::link();
        switchyard_sdk::workflows()
            .iter()
            .map(|w| (w.definition)())
            .collect()
    }

    fn committed(name: &str) -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../build")
            .join(format!("{name}.asl.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Every state of a definition, nested ones included.
    fn asl_states(definition: &Value, into: &mut Vec<String>) {
        for (name, state) in definition["States"].as_object().into_iter().flatten() {
            into.push(name.clone());
            for branch in state["Branches"].as_array().into_iter().flatten() {
                asl_states(branch, into);
            }
            asl_states(&state["ItemProcessor"], into);
        }
    }

    fn drawn(svg: &str, key: &str) -> usize {
        svg.matches(&format!("data-step=\"{key}\"")).count()
    }

    /// States the back end adds to every definition, drawn as the start and the two ends.

    #[test]
    fn every_state_of_every_committed_workflow_is_drawn_once() {
        let workflows = workflows();
        let build = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../build");
        let mut files: Vec<String> = std::fs::read_dir(&build)
            .expect("build/ exists")
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".asl.json").map(str::to_owned)
            })
            .collect();
        files.sort();
        assert!(files.len() >= 10, "{files:?}");
        for name in files {
            let workflow = workflows
                .iter()
                .find(|w| w.name == name)
                .unwrap_or_else(|| panic!("build/{name}.asl.json has no workflow"));
            let svg = rendered(workflow, &RunStates::default());
            let mut states = Vec::new();
            asl_states(&committed(&name), &mut states);
            let derived: BTreeSet<String> = workflow
                .steps
                .iter()
                .flat_map(Step::derived_state_names)
                .collect();
            for state in states {
                if switchyard_sdk::ir::PLATFORM_STATES.contains(&state.as_str())
                    || derived.contains(&state)
                {
                    continue;
                }
                assert_eq!(drawn(&svg, &state), 1, "{name}: state `{state}`");
            }
            for step in &workflow.steps {
                assert_eq!(drawn(&svg, &step.name), 1, "{name}: step `{}`", step.name);
            }
            assert_eq!(drawn(&svg, START), 1);
        }
    }

    #[test]
    fn no_two_boxes_overlap_and_every_box_is_inside_the_picture() {
        for workflow in workflows() {
            let diagram = Diagram::of(&workflow);
            let layout = layout(&diagram);
            for (i, a) in layout.boxes.iter().enumerate() {
                assert!(a.x >= 0.0 && a.y >= 0.0, "{}: {a:?}", workflow.name);
                assert!(
                    a.right() <= layout.width && a.bottom() <= layout.height,
                    "{}: {a:?} outside {}x{}",
                    workflow.name,
                    layout.width,
                    layout.height
                );
                for (j, b) in layout.boxes.iter().enumerate().skip(i + 1) {
                    assert!(
                        !a.overlaps(b),
                        "{}: `{}` and `{}` overlap",
                        workflow.name,
                        diagram.nodes[i].key,
                        diagram.nodes[j].key
                    );
                }
            }
        }
    }

    #[test]
    fn layers_follow_the_longest_path_and_loops_run_back_up() {
        let workflows = workflows();
        let campaign = workflows
            .iter()
            .find(|w| w.name == "campaign-creation")
            .expect("campaign");
        let diagram = Diagram::of(campaign);
        let (back, found) = back_links(&diagram);
        let layer = layers(&diagram, &back, &found);
        let at = |key: &str| {
            let index = diagram
                .nodes
                .iter()
                .position(|n| n.key == key)
                .unwrap_or_else(|| panic!("{key}"));
            layer[index]
        };
        assert_eq!(at(START), 0);
        assert_eq!(at("analyze"), 1);
        assert!(at("qa") < at("qa_passed") && at("qa_passed") < at("revise"));
        // `revise -> qa` closes the revision loop: it is the edge drawn back up.
        let closing: Vec<(&str, &str)> = diagram
            .links
            .iter()
            .zip(&back)
            .filter(|(_, back)| **back)
            .map(|(l, _)| {
                (
                    diagram.nodes[l.from].key.as_str(),
                    diagram.nodes[l.to].key.as_str(),
                )
            })
            .collect();
        assert_eq!(closing, [("revise", "qa")]);
        for link in diagram.links.iter().zip(&back).filter(|(_, b)| !**b) {
            assert!(layer[link.0.from] < layer[link.0.to]);
        }
    }

    #[test]
    fn output_is_deterministic_and_well_formed() {
        for workflow in workflows() {
            let once = rendered(&workflow, &RunStates::default());
            assert_eq!(once, rendered(&workflow, &RunStates::default()));
            assert!(once.starts_with("<svg class=\"wf\" xmlns="), "{once:.80}");
            assert!(
                !once.contains("NaN") && !once.contains("inf"),
                "{}",
                workflow.name
            );
            // Every element is closed (inline SVG in HTML needs it).
            assert_eq!(
                once.matches("<g").count(),
                once.matches("</g>").count(),
                "{}",
                workflow.name
            );
            assert_eq!(
                once.matches("<rect").count(),
                once.matches("</rect>").count()
            );
        }
    }

    #[test]
    fn gates_say_why_each_edge_is_taken_and_conditions_read_as_rust() {
        let workflows = workflows();
        let gate = workflows
            .iter()
            .find(|w| w.name == "gate-test")
            .expect("gate-test");
        let svg = rendered(gate, &RunStates::default());
        for label in ["approved", "rejected", "timed out"] {
            assert!(svg.contains(&format!(">{label}</text>")), "{label}");
        }
        let condition = Condition::And(vec![
            Condition::Compare {
                field: switchyard_sdk::ir::FieldPath(vec!["deal".into(), "total".into()]),
                op: CompareOp::Gt,
                value: Literal::Float(5000.5),
            },
            Condition::Not(Box::new(Condition::Compare {
                field: switchyard_sdk::ir::FieldPath(vec!["vip".into()]),
                op: CompareOp::Eq,
                value: Literal::Bool(true),
            })),
        ]);
        assert_eq!(
            condition_text(&condition),
            "deal.total > 5000.5 && !(vip == true)"
        );
        assert_eq!(fit("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn every_state_has_a_rule_and_a_legend_entry() {
        let css = style();
        let legend = legend().into_string();
        for state in NodeState::ALL {
            assert!(css.contains(&format!(".{}>.shape", state.class())));
            assert!(legend.contains(state.label()));
        }
    }
}

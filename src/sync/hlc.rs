//! Hybrid logical clock timestamps (Kulkarni et al., "Logical Physical Clocks",
//! 2014): wall-clock milliseconds, a counter for events the wall clock cannot
//! tell apart (same millisecond, or a clock that went back), and the node
//! that made the event, so no two events anywhere share a timestamp.
//!
//! Every change a laptop makes gets one. Timestamps only move forward on a
//! node, and a node that hears of a later event moves past it, so an event
//! caused by another is always later, even between laptops whose clocks
//! disagree. Orders are total and the same everywhere: that is what lets
//! every catalogue agree on which decision came last.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// How far ahead of our clock a remote timestamp may be before it is
/// refused: a laptop whose clock is a day fast would otherwise drag every
/// catalogue's clock with it.
pub const MAX_DRIFT_MS: u64 = 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
    pub node: u64,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, self.node).cmp(&(other.millis, other.counter, other.node))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Fixed-width lowercase hex, `millis-counter-node`: sorts as text exactly
/// as the timestamps sort, so SQL `ORDER BY` agrees with [`Ord`].
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:012x}-{:08x}-{:016x}",
            self.millis, self.counter, self.node
        )
    }
}

impl FromStr for Hlc {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a timestamp (millis-counter-node in hex)");
        let mut parts = s.split('-');
        let (Some(m), Some(c), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let widths_ok = m.len() == 12 && c.len() == 8 && n.len() == 16;
        let hex_ok = s
            .chars()
            .all(|ch| ch == '-' || ch.is_ascii_digit() || ('a'..='f').contains(&ch));
        if !widths_ok || !hex_ok {
            return Err(bad());
        }
        Ok(Hlc {
            millis: u64::from_str_radix(m, 16).map_err(|_| bad())?,
            counter: u32::from_str_radix(c, 16).map_err(|_| bad())?,
            node: u64::from_str_radix(n, 16).map_err(|_| bad())?,
        })
    }
}

impl serde::Serialize for Hlc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hlc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One node's clock. `wall` is the current Unix time in milliseconds; it is
/// a parameter so the rules can be tested with any clock.
#[derive(Debug, Clone)]
pub struct Clock {
    last: Hlc,
}

impl Clock {
    /// A clock for `node` that has seen nothing later than `last` (the
    /// latest timestamp stored in the catalogue, after a restart).
    pub fn new(node: u64, last: Option<Hlc>) -> Self {
        Self {
            last: last.map_or(
                Hlc {
                    millis: 0,
                    counter: 0,
                    node,
                },
                |l| Hlc { node, ..l },
            ),
        }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// The timestamp of a new local event.
    pub fn tick(&mut self, wall: u64) -> Hlc {
        let l = self.last;
        self.last = if wall > l.millis {
            Hlc {
                millis: wall,
                counter: 0,
                node: l.node,
            }
        } else {
            after(l.millis, l.counter, l.node)
        };
        self.last
    }

    /// Hear of a remote event: afterwards every local event is later than
    /// it. Refuses one more than [`MAX_DRIFT_MS`] ahead of `wall`.
    pub fn observe(&mut self, remote: Hlc, wall: u64) -> Result<(), String> {
        if remote.millis > wall.saturating_add(MAX_DRIFT_MS) {
            return Err(format!(
                "timestamp {remote} is {} h ahead of this computer's clock; check the clock of the laptop that made it",
                (remote.millis - wall) / 3_600_000
            ));
        }
        let l = self.last;
        let millis = wall.max(l.millis).max(remote.millis);
        self.last = if millis == l.millis && millis == remote.millis {
            after(millis, l.counter.max(remote.counter), l.node)
        } else if millis == l.millis {
            after(millis, l.counter, l.node)
        } else if millis == remote.millis {
            after(millis, remote.counter, l.node)
        } else {
            Hlc {
                millis,
                counter: 0,
                node: l.node,
            }
        };
        Ok(())
    }
}

/// The timestamp of `node` right after `(millis, counter)`: the next
/// counter, or the next millisecond once the counter is spent (a received
/// timestamp may carry the largest counter).
fn after(millis: u64, counter: u32, node: u64) -> Hlc {
    match counter.checked_add(1) {
        Some(counter) => Hlc {
            millis,
            counter,
            node,
        },
        None => Hlc {
            millis: millis.saturating_add(1),
            counter: 0,
            node,
        },
    }
}

/// Now, in Unix milliseconds.
pub fn wall_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hlc(millis: u64, counter: u32, node: u64) -> Hlc {
        Hlc {
            millis,
            counter,
            node,
        }
    }

    #[test]
    fn text_sorts_like_the_timestamps_and_round_trips() {
        let mut stamps = vec![
            hlc(5, 0, 2),
            hlc(5, 0, 1),
            hlc(4, 9, 9),
            hlc(0x1_0000_0000, 0, 0),
            hlc(5, 1, 0),
        ];
        let mut texts: Vec<String> = stamps.iter().map(Hlc::to_string).collect();
        stamps.sort();
        texts.sort();
        assert_eq!(texts, stamps.iter().map(Hlc::to_string).collect::<Vec<_>>());
        for s in &stamps {
            assert_eq!(s.to_string().parse::<Hlc>().unwrap(), *s);
        }
        for bad in [
            "",
            "1-2-3",
            "0000000000zz-00000000-0000000000000000",
            "000000000005-00000000-0000000000000001-1",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad}");
        }
    }

    #[test]
    fn local_events_always_move_forward_even_when_the_wall_clock_goes_back() {
        let mut c = Clock::new(7, None);
        let a = c.tick(1000);
        let b = c.tick(1000);
        let d = c.tick(900); // clock stepped back
        let e = c.tick(2000);
        assert!(a < b && b < d && d < e, "{a} {b} {d} {e}");
        assert_eq!((d.millis, d.counter), (1000, 2));
        assert_eq!((e.millis, e.counter), (2000, 0));
        assert!([a, b, d, e].iter().all(|h| h.node == 7));
    }

    #[test]
    fn an_event_after_hearing_a_remote_one_is_later_than_it() {
        // Laptop 2's clock is 10 s fast; laptop 1 hears of its event.
        let mut one = Clock::new(1, None);
        let mut two = Clock::new(2, None);
        let remote = two.tick(20_000);
        one.tick(10_000);
        one.observe(remote, 10_001).unwrap();
        let next = one.tick(10_002);
        assert!(next > remote, "{next} vs {remote}");
        // Same millisecond on both sides: the counter moves past both.
        let mut three = Clock::new(3, Some(hlc(500, 4, 3)));
        three.observe(hlc(500, 9, 2), 100).unwrap();
        assert_eq!((three.last().millis, three.last().counter), (500, 10));
    }

    #[test]
    fn a_timestamp_far_in_the_future_is_refused() {
        let mut c = Clock::new(1, None);
        let err = c
            .observe(hlc(MAX_DRIFT_MS + 10_000, 0, 2), 5_000)
            .unwrap_err();
        assert!(err.contains("ahead"), "{err}");
        assert_eq!(c.last().millis, 0, "the clock did not move");
    }

    #[test]
    fn a_restarted_clock_continues_after_what_it_stored() {
        let mut c = Clock::new(4, Some(hlc(9_000, 3, 4)));
        assert!(c.tick(1_000) > hlc(9_000, 3, 4));
    }

    /// A timestamp received with the largest counter (a hostile or broken
    /// laptop; the server lets its time through when it is within a day
    /// ahead) must not stop or turn back this clock: the next events move
    /// to the next millisecond.
    #[test]
    fn a_clock_past_the_largest_counter_moves_to_the_next_millisecond() {
        let far = hlc(5_000, u32::MAX, 9);
        let mut c = Clock::new(1, Some(far));
        let next = c.tick(4_000);
        assert!(next > far, "{next} after {far}");
        assert!(c.tick(4_000) > next);
        let mut c = Clock::new(1, None);
        c.observe(far, 4_000).unwrap();
        assert!(c.last() > far);
        let mut c = Clock::new(9, Some(hlc(5_000, u32::MAX - 1, 9)));
        c.observe(far, 4_000).unwrap();
        assert!(c.last() > far);
    }
}

//! Which event each serial key ("lane") may run next, kept in memory by the store's
//! thread beside the database, so taking an event never scans the queue: one pull
//! request with thousands of waiting events costs the same as one.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

#[derive(Debug, Default)]
pub struct Lanes {
    /// Unfinished events per key, oldest first, with the time each may run (ms).
    queues: HashMap<String, VecDeque<(i64, i64)>>,
    /// Keys whose head event is running.
    busy: HashSet<String>,
    /// Keys that are not busy and have a head: (head id, key), oldest head first.
    ready: BTreeSet<(i64, String)>,
}

impl Lanes {
    /// Appends an event to its lane.
    pub fn push(&mut self, key: &str, id: i64, not_before: i64) {
        let q = self.queues.entry(key.to_owned()).or_default();
        q.push_back((id, not_before));
        if q.len() == 1 && !self.busy.contains(key) {
            self.ready.insert((id, key.to_owned()));
        }
    }

    /// The oldest head that may run at `now`, marked running.
    pub fn take(&mut self, now: i64) -> Option<(i64, String)> {
        let (id, key) = self
            .ready
            .iter()
            .find(|(_, key)| self.queues[key].front().is_some_and(|(_, nb)| *nb <= now))?
            .clone();
        self.ready.remove(&(id, key.clone()));
        self.busy.insert(key.clone());
        Some((id, key))
    }

    /// The running head of `key` is finished (done or failed for good).
    pub fn finish(&mut self, key: &str, id: i64) {
        self.busy.remove(key);
        if let Some(q) = self.queues.get_mut(key) {
            if q.front().is_some_and(|(h, _)| *h == id) {
                q.pop_front();
            }
            match q.front() {
                Some((next, _)) => {
                    self.ready.insert((*next, key.to_owned()));
                }
                None => {
                    self.queues.remove(key);
                }
            }
        }
    }

    /// The running head of `key` goes back to wait until `not_before`.
    pub fn retry(&mut self, key: &str, id: i64, not_before: i64) {
        self.busy.remove(key);
        if let Some(q) = self.queues.get_mut(key)
            && let Some(head) = q.front_mut()
            && head.0 == id
        {
            head.1 = not_before;
            self.ready.insert((id, key.to_owned()));
        }
    }

    /// The soonest time a ready head may run.
    pub fn next_ready_at(&self) -> Option<i64> {
        self.ready
            .iter()
            .filter_map(|(_, key)| self.queues[key].front().map(|(_, nb)| *nb))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_running_per_key_in_order() {
        let mut l = Lanes::default();
        l.push("a", 1, 0);
        l.push("a", 2, 0);
        l.push("b", 3, 0);
        assert_eq!(l.take(0), Some((1, "a".into())));
        assert_eq!(l.take(0), Some((3, "b".into())), "a is busy, b is next");
        assert_eq!(l.take(0), None);
        l.finish("a", 1);
        assert_eq!(l.take(0), Some((2, "a".into())));
        l.retry("a", 2, 100);
        assert_eq!(l.take(50), None, "backing off");
        assert_eq!(l.next_ready_at(), Some(100));
        assert_eq!(l.take(100), Some((2, "a".into())));
    }
}

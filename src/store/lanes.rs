//! Which event each serial key ("lane") may run next, kept in memory by the store's
//! thread beside the database, so taking an event never scans the queue: one pull
//! request with thousands of waiting events costs the same as one.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

#[derive(Debug, Default)]
pub struct Lanes {
    /// Unfinished events per key, oldest first, with the time each may run (ms).
    queues: HashMap<String, VecDeque<(i64, i64)>>,
    /// Keys whose head event is running.
    busy: HashSet<String>,
    /// Keys that are not busy and have a head: (head id, key), oldest head first.
    ready: BTreeSet<(i64, String)>,
    /// Events waiting for something outside (Argo CD), out of their lanes so later events
    /// of the key run meanwhile: (time it may run, id) -> key. Due, each goes back to the
    /// end of its lane.
    parked: BTreeMap<(i64, i64), String>,
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
        while let Some(entry) = self.parked.first_entry() {
            let (nb, id) = *entry.key();
            if nb > now {
                break;
            }
            let key = entry.remove();
            self.push(&key, id, nb);
        }
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
            self.advance(key);
        }
    }

    /// `key`'s next event, if any, may run; a lane left empty goes.
    fn advance(&mut self, key: &str) {
        match self.queues.get(key).and_then(|q| q.front()) {
            Some((next, _)) => {
                self.ready.insert((*next, key.to_owned()));
            }
            None => {
                self.queues.remove(key);
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

    /// The running head of `key` waits for something outside until `not_before`, out of
    /// its lane: the events behind it do not queue behind a wait.
    pub fn park(&mut self, key: &str, id: i64, not_before: i64) {
        self.busy.remove(key);
        let Some(q) = self.queues.get_mut(key) else {
            return;
        };
        if q.front().is_none_or(|(h, _)| *h != id) {
            return;
        }
        q.pop_front();
        self.advance(key);
        self.parked.insert((not_before, id), key.to_owned());
    }

    /// An event that waits until `not_before`, out of its lane (loading the store).
    pub fn parked(&mut self, key: &str, id: i64, not_before: i64) {
        self.parked.insert((not_before, id), key.to_owned());
    }

    /// The soonest time a ready head or a parked event may run.
    pub fn next_ready_at(&self) -> Option<i64> {
        self.ready
            .iter()
            .filter_map(|(_, key)| self.queues[key].front().map(|(_, nb)| *nb))
            .chain(self.parked.keys().next().map(|(nb, _)| *nb))
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

    #[test]
    fn a_wait_steps_out_of_its_lane_until_due() {
        let mut l = Lanes::default();
        l.push("pr", 1, 0);
        l.push("pr", 2, 0);
        assert_eq!(l.take(0), Some((1, "pr".into())));
        l.park("pr", 1, 100);
        assert_eq!(
            l.take(0),
            Some((2, "pr".into())),
            "the next event does not wait"
        );
        l.finish("pr", 2);
        assert_eq!(l.take(50), None);
        assert_eq!(l.next_ready_at(), Some(100));
        l.push("pr", 3, 0);
        assert_eq!(l.take(50), Some((3, "pr".into())));
        // Due while the lane is busy: it goes back to the lane's end, one at a time.
        assert_eq!(l.take(100), None);
        l.finish("pr", 3);
        assert_eq!(l.take(100), Some((1, "pr".into())));
    }
}

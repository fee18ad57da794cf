//! Small integer handles for things JS reaches through free functions (`bindings::cache`,
//! `bindings::client::calls`): entering a method of a napi-rs class costs ~200 ns more than a
//! free function (it unwraps `this` and checks its type tag), so the hottest calls take the
//! handle of what they act on instead. Each registry lives in a thread-local of its JS thread.

/// Slots `n - 1` for handles `n`; handle 0 is never given out (it means "none").
pub struct Handles<T> {
    slots: Vec<Option<T>>,
}

impl<T> Handles<T> {
    pub const fn new() -> Self {
        Self { slots: Vec::new() }
    }

    /// Holds `value` under a fresh handle (a freed slot is reused); never 0.
    pub fn insert(&mut self, value: T) -> u32 {
        let slot = match self.slots.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.slots[slot] = Some(value);
        slot as u32 + 1
    }

    /// Frees `handle`; unknown handles are ignored.
    pub fn remove(&mut self, handle: u32) {
        if let Some(slot) = handle.checked_sub(1).and_then(|i| self.slots.get_mut(i as usize)) {
            *slot = None;
        }
    }

    pub fn get(&self, handle: u32) -> Option<&T> {
        handle.checked_sub(1).and_then(|i| self.slots.get(i as usize)).and_then(Option::as_ref)
    }
}

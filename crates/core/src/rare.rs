//! [`Rare`]: a part of a [`Target`](crate::Target) that most hosts leave
//! at its default, kept out of line.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A value most targets leave at its default (ssh_config reach,
/// credentials, per-host timeouts), kept out of line: one pointer and no
/// allocation while it is the default, a box once written. Reads see the
/// value (or the default) through [`Deref`]; the first write through
/// [`DerefMut`] allocates it. A million synthetic targets save ~340 bytes
/// each (BENCHMARKS.md, "Memory per host in flight").
pub struct Rare<T: 'static>(Option<Box<T>>);

/// A type whose default value exists as a `'static`, for [`Rare`].
pub trait StaticDefault: Sized + 'static {
    /// The default value (equal to `Default::default()`).
    const DEFAULT: &'static Self;
}

impl<T: StaticDefault> Rare<T> {
    /// Whether the value was never set (or was set to the default by
    /// [`From`]): then it takes no allocation.
    pub fn is_unset(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: StaticDefault> Deref for Rare<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0.as_deref().unwrap_or(T::DEFAULT)
    }
}

impl<T: StaticDefault + Clone> DerefMut for Rare<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(|| Box::new(T::DEFAULT.clone()))
    }
}

impl<T: StaticDefault + PartialEq> From<T> for Rare<T> {
    fn from(value: T) -> Self {
        if value == *T::DEFAULT {
            Self(None)
        } else {
            Self(Some(Box::new(value)))
        }
    }
}

impl<T> Default for Rare<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: Clone> Clone for Rare<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: StaticDefault + PartialEq> PartialEq for Rare<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: StaticDefault + Eq> Eq for Rare<T> {}

/// Exactly the value's own `Debug` (a `Target`'s Debug reads as before;
/// secrets stay `***`).
impl<T: StaticDefault + fmt::Debug> fmt::Debug for Rare<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Credentials, Reach, Secret, Target, TimeoutOverrides};

    use super::*;

    #[test]
    fn unset_parts_take_no_room_and_read_as_their_default() {
        let mut t = Target::new("r1", "127.0.0.1");
        assert!(t.reach.is_unset() && t.credentials.is_unset() && t.timeouts.is_unset());
        assert_eq!(*t.reach, Reach::default());
        assert_eq!(*t.credentials, Credentials::default());
        assert_eq!(*t.timeouts, TimeoutOverrides::default());
        // Every target pays one pointer per rare part, not the part.
        assert!(
            std::mem::size_of::<Target>() <= 256,
            "{}",
            std::mem::size_of::<Target>()
        );
        t.credentials.password = Some(Secret::new("hunter2"));
        assert!(!t.credentials.is_unset());
        assert_eq!(
            t.credentials.password.as_ref().map(Secret::expose),
            Some("hunter2")
        );
        assert!(!format!("{t:?}").contains("hunter2"));
        // Equal by value, set or not.
        assert_eq!(Rare::from(Reach::default()), Rare::<Reach>::default());
        assert!(Rare::from(Reach::default()).is_unset());
        let mut other = Target::new("r1", "127.0.0.1");
        assert_ne!(t, other);
        other.credentials.password = Some(Secret::new("hunter2"));
        assert_eq!(t, other);
        other.timeouts.connect = None;
        assert_eq!(t, other, "a written default equals an unset one");
    }
}

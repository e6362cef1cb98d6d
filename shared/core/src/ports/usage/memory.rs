use super::{AwsCalls, UsageMeter};

/// A meter that always reads the same: for tests, and where nothing is metered (zero).
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedMeter {
    pub calls: AwsCalls,
    pub memory_mb: u32,
}

impl UsageMeter for FixedMeter {
    fn calls(&self) -> AwsCalls {
        self.calls
    }

    fn memory_mb(&self) -> u32 {
        self.memory_mb
    }
}

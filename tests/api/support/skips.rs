//! Tests that cannot run for want of a service (`TEST_POSTGRES_URL`,
//! `TEST_REDIS_URL`, `TEST_AIOSMTPD`, a tool): libtest would print them
//! `ok`. Under CI (`CI` set, as GitHub and `.ci/run` set it) a skip fails
//! the test; anywhere else it is counted, and the test binary ends its run
//! with a line that says how many runs were skipped and why.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, Once};

static SKIPPED: Mutex<BTreeMap<&'static str, usize>> = Mutex::new(BTreeMap::new());
static REPORT: Once = Once::new();

/// Whether this run is CI's, where every service must be there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `what` cannot run because `var` is not set (or `var` names a missing
/// tool): fails under CI, else counted for the closing line.
#[track_caller]
pub fn skip(var: &'static str, what: &str) {
    assert!(
        !in_ci(),
        "{var} is not set, but CI is: {what} would pass without running"
    );
    eprintln!("{var} is not set: skipping {what}");
    if let Ok(mut skipped) = SKIPPED.lock() {
        *skipped.entry(var).or_default() += 1;
    }
    REPORT.call_once(|| {
        // SAFETY: `atexit` is given a function with the C ABI that lives
        // for the whole process and takes nothing; it runs once, at exit,
        // after libtest has printed its summary.
        #[allow(unsafe_code)]
        unsafe {
            atexit(report);
        }
    });
}

#[allow(unsafe_code)]
unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
}

/// The closing line. Cannot panic (it runs at exit, across the C ABI).
extern "C" fn report() {
    let Ok(skipped) = SKIPPED.lock() else {
        return;
    };
    let total: usize = skipped.values().sum();
    let why: Vec<String> = skipped
        .iter()
        .map(|(var, n)| format!("{n} for want of {var}"))
        .collect();
    let _ = writeln!(
        std::io::stderr(),
        "\nSKIPPED {total} test runs ({}): libtest counted them as passed, but they did not run. \
         Set what they need (README, \"Tests\"), or set CI=true to make a missing service fail.\n",
        why.join(", ")
    );
}

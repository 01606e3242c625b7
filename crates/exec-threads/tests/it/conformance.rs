//! The executor contract, checked for `seq`, `threads` and `rayon` (with
//! message parity against `seq`).

mod seq {
    fanout_testkit::executor_conformance!(fanout_exec_threads::Sequential::new);
}

mod threads {
    fanout_testkit::executor_conformance!(
        fanout_exec_threads::ThreadPool::new,
        reference: fanout_exec_threads::Sequential::new
    );
}

mod rayon {
    fanout_testkit::executor_conformance!(
        fanout_exec_threads::Rayon::new,
        reference: fanout_exec_threads::Sequential::new
    );
}

//! The thread a policy instance lives on.
//!
//! WASI's synchronous bindings drive their streams on an ambient tokio runtime, which
//! cannot be entered from the experiment's actor thread (it already runs one). So each
//! policy gets a plain thread of its own, with no runtime: the actor hands it one call
//! at a time and waits for the answer, exactly as if the call ran in place (the state
//! machine stays synchronous and deterministic).

use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a side polls before it sleeps: waking a sleeping thread costs tens of
/// microseconds on a busy machine, more than most policy calls take. The caller waits
/// for its answer this long (it has nothing else to do meanwhile), and the worker for
/// the next call (a matching pass makes calls back to back).
const SPIN_FOR_ANSWER: Duration = Duration::from_micros(200);
const SPIN_FOR_JOB: Duration = Duration::from_micros(100);

/// Receives from `rx`, polling for `spin` before blocking.
fn receive<T>(rx: &mpsc::Receiver<T>, spin: Duration) -> Result<T, mpsc::RecvError> {
    let until = Instant::now() + spin;
    loop {
        match rx.try_recv() {
            Ok(value) => return Ok(value),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) if Instant::now() < until => std::hint::spin_loop(),
            Err(mpsc::TryRecvError::Empty) => return rx.recv(),
        }
    }
}

/// What runs on the worker: a closure over the worker's slot `S`.
type Job<S> = Box<dyn FnOnce(&mut S) + Send + 'static>;

/// A thread that owns an `S` and runs closures on it, one at a time.
pub struct Worker<S> {
    jobs: Option<mpsc::Sender<Job<S>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The worker thread stopped (a panic in a job): the policy is unusable.
#[derive(Debug)]
pub struct Stopped;

impl<S: 'static> Worker<S> {
    /// Starts a thread named `name` that owns `make()`'s value.
    pub fn start(name: &str, make: impl FnOnce() -> S + Send + 'static) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job<S>>();
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            let mut slot = make();
            while let Ok(job) = receive(&rx, SPIN_FOR_JOB) {
                job(&mut slot);
            }
        })?;
        Ok(Self { jobs: Some(tx), thread: Some(thread) })
    }

    /// Runs `f` on the worker's slot and returns its result; blocks until it has run.
    /// `f` may borrow from the caller: it has finished (and been dropped) before this
    /// returns.
    pub fn run<'a, R: Send + 'a>(&self, f: impl FnOnce(&mut S) -> R + Send + 'a) -> Result<R, Stopped> {
        let (tx, rx) = mpsc::sync_channel::<R>(1);
        let job: Box<dyn FnOnce(&mut S) + Send + 'a> = Box::new(move |slot| {
            let _ = tx.send(f(slot));
        });
        // SAFETY: the job only outlives `'a` in its type. This function does not return
        // until the job has run to completion (its answer arrives) or has been dropped
        // (the channel disconnects: the worker dropped it unrun, or unwound through it),
        // so nothing it borrows is used after the borrow ends.
        let job: Job<S> = unsafe { std::mem::transmute::<Box<dyn FnOnce(&mut S) + Send + 'a>, Job<S>>(job) };
        let jobs = self.jobs.as_ref().ok_or(Stopped)?;
        jobs.send(job).map_err(|_| Stopped)?;
        receive(&rx, SPIN_FOR_ANSWER).map_err(|_| Stopped)
    }
}

impl<S> Drop for Worker<S> {
    fn drop(&mut self) {
        self.jobs = None; // the thread's loop ends
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_borrowing_jobs_in_order_on_its_own_thread() {
        let worker = Worker::start("test-worker", Vec::<String>::new).expect("starts");
        let caller = std::thread::current().id();
        let borrowed = String::from("borrowed");
        for i in 0..3 {
            let elsewhere = worker
                .run(|seen| {
                    seen.push(format!("{borrowed} {i}"));
                    std::thread::current().id() != caller
                })
                .expect("runs");
            assert!(elsewhere);
        }
        assert_eq!(worker.run(|seen| seen.clone()).expect("runs"), ["borrowed 0", "borrowed 1", "borrowed 2"]);
    }

    #[test]
    fn a_panicking_job_stops_the_worker_with_an_error() {
        let worker = Worker::start("test-panic", || 0u32).expect("starts");
        assert!(worker.run(|_| -> u32 { panic!("boom") }).is_err());
        assert!(worker.run(|n| *n).is_err(), "the worker stays stopped");
    }
}

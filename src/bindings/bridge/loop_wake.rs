//! Waking a JS thread from the I/O thread through a libuv async handle on that thread's event
//! loop, which then calls a JS function.
//!
//! A threadsafe function does the same, but Node sends its wake-up while holding the
//! function's queue lock. With the JS thread and the I/O thread on one CPU, the woken JS thread
//! usually preempts the sender inside that send, finds the lock taken, and blocks on it: two
//! extra context switches and two futex calls per wake-up. `uv_async_send` takes no lock, and
//! several sends before the loop runs collapse into one callback.
//!
//! Everything here except [`LoopWake::send`] runs on the JS thread that attached it.
//!
//! On Windows an addon does not link against the node executable (napi-rs looks Node-API
//! functions up at load time), so libuv is out of reach there and the threadsafe function
//! remains.

/// Makes the one argument the woken function is called with (JS thread, inside the call's handle
/// scope); a null value calls it with none. The threadsafe-function version ignores it.
pub type Payload = Box<dyn Fn(napi::sys::napi_env) -> napi::sys::napi_value>;

#[cfg(windows)]
pub use threadsafe::LoopWake;
#[cfg(not(windows))]
pub use uv_async::LoopWake;

#[cfg(not(windows))]
mod uv_async {
    use std::ffi::{c_int, c_void};
    use std::ptr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    use napi::bindgen_prelude::*;
    use napi::sys;

    use super::Payload;

    // libuv, as exported by the node executable. Node-API has no way to wake a loop without a lock.
    #[allow(non_camel_case_types)]
    type uv_async_cb = unsafe extern "C" fn(handle: *mut c_void);
    #[allow(non_camel_case_types)]
    type uv_close_cb = unsafe extern "C" fn(handle: *mut c_void);

    extern "C" {
        fn uv_handle_size(handle_type: c_int) -> usize;
        fn uv_async_init(event_loop: *mut sys::uv_loop_s, handle: *mut c_void, cb: uv_async_cb) -> c_int;
        fn uv_async_send(handle: *mut c_void) -> c_int;
        fn uv_close(handle: *mut c_void, cb: uv_close_cb);
        fn uv_ref(handle: *mut c_void);
        fn uv_unref(handle: *mut c_void);
    }

    /// `UV_ASYNC` in libuv's `uv_handle_type`.
    const UV_ASYNC: c_int = 1;

    /// What the async handle's `data` field (the first field of every libuv handle) points to.
    struct Wake {
        /// The `uv_async_t`, as libuv sizes it; boxed so its address never changes.
        handle: Box<[u64]>,
        env: sys::napi_env,
        callback: sys::napi_ref,
        context: sys::napi_async_context,
        cleanup_hook: sys::napi_async_cleanup_hook_handle,
        payload: Option<Payload>,
        /// The LoopWake this is attached to; its owner detaches it before dropping it.
        owner: *const LoopWake,
    }

    impl Wake {
        fn handle_ptr(&mut self) -> *mut c_void {
            self.handle.as_mut_ptr().cast()
        }
    }

    #[derive(Clone, Copy)]
    struct WakePtr(*mut Wake);
    // Only `uv_async_send` touches the handle off the JS thread, and libuv makes that thread-safe;
    // the pointer is withdrawn under the lock before the handle is closed.
    unsafe impl Send for WakePtr {}

    fn check(status: sys::napi_status, what: &str) -> Result<()> {
        if status == sys::Status::napi_ok {
            Ok(())
        } else {
            Err(napi::Error::new(Status::GenericFailure, format!("{what} failed (napi status {status})")))
        }
    }

    /// One attachable wake-up of a JS function; detached it holds nothing.
    #[derive(Default)]
    pub struct LoopWake {
        wake: Mutex<Option<WakePtr>>,
        /// `wake.is_some()`, readable on every submission without the lock.
        attached: AtomicBool,
    }

    impl LoopWake {
        /// Wires `callback` to the loop of the calling JS thread, unreferenced (it does not keep
        /// the loop alive until [`LoopWake::keep_alive`] says so), called with what `payload`
        /// makes. A no-op when attached already.
        pub fn attach(&self, env: &Env, callback: &Function<(), ()>, payload: Option<Payload>) -> Result<()> {
            let mut slot = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                return Ok(());
            }
            let raw_env = env.raw();
            unsafe {
                let mut event_loop = ptr::null_mut();
                check(sys::napi_get_uv_event_loop(raw_env, &mut event_loop), "napi_get_uv_event_loop")?;
                let words = uv_handle_size(UV_ASYNC).div_ceil(8);
                let wake = Box::into_raw(Box::new(Wake {
                    handle: vec![0u64; words].into_boxed_slice(),
                    env: raw_env,
                    callback: ptr::null_mut(),
                    context: ptr::null_mut(),
                    cleanup_hook: ptr::null_mut(),
                    payload,
                    owner: self,
                }));
                if uv_async_init(event_loop, (*wake).handle_ptr(), on_async) != 0 {
                    drop(Box::from_raw(wake));
                    return Err(napi::Error::new(Status::GenericFailure, "uv_async_init failed"));
                }
                // Set after init: `data` is the handle's first field, which libuv leaves to its user.
                *(*wake).handle_ptr().cast::<*mut Wake>() = wake;
                uv_unref((*wake).handle_ptr());
                let mut name = ptr::null_mut();
                let label = "ChittyIDCompletions";
                let attached = check(
                    sys::napi_create_reference(raw_env, callback.raw(), 1, &mut (*wake).callback),
                    "napi_create_reference",
                )
                .and_then(|()| {
                    check(
                        sys::napi_create_string_utf8(raw_env, label.as_ptr().cast(), label.len() as isize, &mut name),
                        "napi_create_string_utf8",
                    )
                })
                .and_then(|()| {
                    check(sys::napi_async_init(raw_env, ptr::null_mut(), name, &mut (*wake).context), "napi_async_init")
                })
                .and_then(|()| {
                    check(
                        sys::napi_add_async_cleanup_hook(
                            raw_env,
                            Some(on_env_cleanup),
                            wake.cast(),
                            &mut (*wake).cleanup_hook,
                        ),
                        "napi_add_async_cleanup_hook",
                    )
                });
                if let Err(e) = attached {
                    release(wake, false);
                    return Err(e);
                }
                *slot = Some(WakePtr(wake));
                self.attached.store(true, Ordering::Release);
            }
            Ok(())
        }

        pub fn is_attached(&self) -> bool {
            self.attached.load(Ordering::Acquire)
        }

        /// Detaches (JS thread); a send that raced with this simply finds nothing to wake.
        pub fn detach(&self) {
            let taken = self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
            self.attached.store(false, Ordering::Release);
            if let Some(WakePtr(wake)) = taken {
                unsafe { release(wake, true) };
            }
        }

        /// Whether the attached handle keeps the event loop alive (JS thread).
        pub fn keep_alive(&self, _env: &Env, alive: bool) {
            if let Some(WakePtr(wake)) = *self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
                unsafe {
                    if alive {
                        uv_ref((*wake).handle_ptr());
                    } else {
                        uv_unref((*wake).handle_ptr());
                    }
                }
            }
        }

        /// Schedules a call of the attached function on its thread (any thread); sends made before
        /// the loop gets to it are delivered as one call. A no-op while detached.
        pub fn send(&self) {
            if let Some(WakePtr(wake)) = *self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
                unsafe {
                    uv_async_send((*wake).handle.as_ptr() as *mut c_void);
                }
            }
        }
    }

    impl Drop for LoopWake {
        fn drop(&mut self) {
            // Owners detach on the JS thread (`NativeClient` when it is dropped, or the
            // environment's cleanup hook) before the last reference goes: the handle points back here.
            debug_assert!(self.wake.get_mut().map_or(true, |w| w.is_none()), "LoopWake dropped while attached");
        }
    }

    /// Undoes `attach` (JS thread): the JS references now, the handle's memory once libuv has
    /// closed it.
    unsafe fn release(wake: *mut Wake, remove_hook: bool) {
        let w = &mut *wake;
        if remove_hook && !w.cleanup_hook.is_null() {
            sys::napi_remove_async_cleanup_hook(w.cleanup_hook);
            w.cleanup_hook = ptr::null_mut();
        }
        if !w.context.is_null() {
            sys::napi_async_destroy(w.env, w.context);
            w.context = ptr::null_mut();
        }
        if !w.callback.is_null() {
            sys::napi_delete_reference(w.env, w.callback);
            w.callback = ptr::null_mut();
        }
        uv_close(w.handle_ptr(), on_closed);
    }

    unsafe extern "C" fn on_closed(handle: *mut c_void) {
        let wake = *handle.cast::<*mut Wake>();
        let hook = (*wake).cleanup_hook;
        drop(Box::from_raw(wake));
        if !hook.is_null() {
            // The environment is shutting down and waits for this.
            sys::napi_remove_async_cleanup_hook(hook);
        }
    }

    /// The environment (main thread or a worker) is going away with the handle still attached.
    unsafe extern "C" fn on_env_cleanup(_hook: sys::napi_async_cleanup_hook_handle, data: *mut c_void) {
        let wake = data.cast::<Wake>();
        // Withdrawn from its LoopWake first, so no send can reach the handle while it closes.
        let owner = &*(*wake).owner;
        owner.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        owner.attached.store(false, Ordering::Release);
        // The hook is removed in `on_closed`, once the handle is gone, which lets shutdown go on.
        release(wake, false);
    }

    unsafe extern "C" fn on_async(handle: *mut c_void) {
        let wake = &*(*handle.cast::<*mut Wake>());
        if wake.callback.is_null() {
            return;
        }
        let env = wake.env;
        let mut scope = ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        let mut callback = ptr::null_mut();
        let mut receiver = ptr::null_mut();
        if sys::napi_get_reference_value(env, wake.callback, &mut callback) == sys::Status::napi_ok
            && !callback.is_null()
            // napi_make_callback wants an object as `this`; the callback does not use it.
            && sys::napi_get_global(env, &mut receiver) == sys::Status::napi_ok
        {
            let argument = wake.payload.as_ref().map_or(ptr::null_mut(), |make| make(env));
            let argc = usize::from(!argument.is_null());
            // A callback scope of its own: microtasks and process.nextTick run when it returns,
            // so promises settled by the callback continue right away.
            let mut result = ptr::null_mut();
            let status = sys::napi_make_callback(env, wake.context, receiver, callback, argc, &argument, &mut result);
            if status == sys::Status::napi_pending_exception {
                let mut error = ptr::null_mut();
                if sys::napi_get_and_clear_last_exception(env, &mut error) == sys::Status::napi_ok {
                    sys::napi_fatal_exception(env, error);
                }
            }
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

#[cfg(windows)]
mod threadsafe {
    use std::sync::Mutex;

    use napi::bindgen_prelude::*;
    use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

    type WakeFn = ThreadsafeFunction<(), (), (), Status, false, true, 0>;

    /// The same contract as the libuv version, on a weak threadsafe function.
    #[derive(Default)]
    pub struct LoopWake {
        wake: Mutex<Option<WakeFn>>,
    }

    impl LoopWake {
        pub fn attach(&self, _env: &Env, callback: &Function<(), ()>, _payload: Option<super::Payload>) -> Result<()> {
            let mut wake = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            if wake.is_none() {
                *wake =
                    Some(callback.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build()?);
            }
            Ok(())
        }

        pub fn detach(&self) {
            self.wake.lock().unwrap_or_else(|e| e.into_inner()).take();
        }

        pub fn is_attached(&self) -> bool {
            self.wake.lock().unwrap_or_else(|e| e.into_inner()).is_some()
        }

        #[allow(deprecated)] // `refer`/`unref` are the napi calls for exactly this toggle
        pub fn keep_alive(&self, env: &Env, alive: bool) {
            if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                let _ = if alive { wake.refer(env) } else { wake.unref(env) };
            }
        }

        pub fn send(&self) {
            if let Some(wake) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
            }
        }
    }
}

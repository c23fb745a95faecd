// No console_error_panic_hook: it costs 1.3 KB gzip of the 150 KiB budget, and
// with panic = "abort" a panic still surfaces as a page error the e2e tests catch.
fn main() {
    leptos::mount::mount_to_body(frontend::App);
}

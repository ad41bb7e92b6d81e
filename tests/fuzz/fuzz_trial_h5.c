/* libFuzzer target: see fuzz_entry.h for what the input is and which entry points it reaches. */
#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);
const char *__lsan_default_suppressions(void);

/* In raw mode HDF5 sizes its metadata-cache buffers from lengths in the file, so a damaged file makes
 * it ask malloc for terabytes; without ASan malloc returns NULL and HDF5 reports an unreadable file
 * (tests/fuzz/regressions/trial_h5/raw_hdf5_huge_metadata_alloc), which is what ASan must do too.
 * HDF5 1.10.8 also leaks object-header chunks when H5Fopen fails on a damaged file
 * (regressions/trial_h5/raw_hdf5_open_leak): that memory is HDF5's own, so leaks with a libhdf5 frame
 * are suppressed. Finding that frame needs the slow unwinder (libhdf5 has no frame pointers). Handles
 * dcn forgot to close are not leaks to LSan either way (HDF5's identifier tables still reach them);
 * leaks of dcn's own allocations have no libhdf5 frame and are still reported. */
const char *__asan_default_options(void) { return "allocator_may_return_null=1:fast_unwind_on_malloc=0"; }
const char *__lsan_default_suppressions(void) { return "leak:libhdf5\n"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dcn_ctx ctx;
    fuzz_ctx(&ctx);
    enum dcn_status st = fuzz_one_trial_h5(&ctx, data, size);
    if (!fuzz_status_ok(&ctx, st))
        abort(); /* an error status without a message, or a status outside the enum */
    return 0;
}

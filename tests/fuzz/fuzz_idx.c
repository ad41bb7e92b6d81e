/* libFuzzer target: see fuzz_entry.h for what the input is and which entry points it reaches. */
#include "fuzz_entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dcn_ctx ctx;
    fuzz_ctx(&ctx);
    enum dcn_status st = fuzz_one_idx(&ctx, data, size);
    if (!fuzz_status_ok(&ctx, st))
        abort(); /* an error status without a message, or a status outside the enum */
    return 0;
}

/* A stand-in for bcryptprimitives.dll, for Wine older than 8.13 only (Debian 12 ships 8.0), which lacks it.
 * Rust's standard library (1.78+) takes its random numbers from ProcessPrng in that DLL, which every supported
 * Windows (10 and later) has; without it the .exe does not even load under old Wine. This is test scaffolding for
 * .ci/windows, copied into the CI's own Wine prefix, never shipped. ProcessPrng here draws from RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has always had. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

/*
 * hsdis for JDK 25 from Debian's libhsdis0-fcml: that package exports only the old entry point
 * (decode_instructions), while HotSpot since JDK 13 calls decode_instructions_virtual. This adapter forwards one to
 * the other (in the code cache the code's address and its buffer are the same), so -XX:+PrintAssembly and
 * -XX:CompileCommand=print show instructions instead of hex. A development tool: nothing in the build uses it.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

typedef void *(*event_callback)(void *, const char *, void *);
typedef int (*printf_callback)(void *, const char *, ...);
typedef void *(*old_entry)(void *, void *, event_callback, void *, printf_callback, void *, const char *);

void *decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char *buffer, uintptr_t length,
                                  event_callback event, void *event_stream, printf_callback print,
                                  void *print_stream, const char *options, int newline) {
    static old_entry decode;
    (void) start_va;
    (void) end_va;
    (void) newline;
    if (decode == NULL) {
        void *library = dlopen("/usr/lib/x86_64-linux-gnu/libhsdis.so.0", RTLD_NOW | RTLD_LOCAL);
        decode = library == NULL ? NULL : (old_entry) dlsym(library, "decode_instructions");
        if (decode == NULL) {
            fprintf(stderr, "hsdis shim: %s (apt-get install libhsdis0-fcml)\n", dlerror());
            return NULL;
        }
    }
    return decode(buffer, buffer + length, event, event_stream, print, print_stream, options);
}

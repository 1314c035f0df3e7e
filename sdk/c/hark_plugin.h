/*
 * hark_plugin.h: the plain C ABI for Hark nodes, version 1.
 *
 * A C (or C++, or any language that can export a C function) shared
 * library offers node kinds to Hark through the first-party `c` plugin:
 *
 *     "rev": (plugin: "c", kind: "transform", config: (
 *         library: "target/c/libreverse.so",  // this library
 *         node: "reverse",                     // one of its kinds
 *         settings: {"separator": " "},        // read with hark_setting()
 *     )),
 *
 * The library exports one function, `hark_plugin_entry`, returning a
 * description of its kinds (static data; the library is never unloaded).
 * A node of a kind is created per pipeline node, and called from one
 * thread at a time.
 *
 * Messages: text (UTF-8) and audio (interleaved 32-bit float samples).
 * Other messages (control events such as "utterance ended", intents,
 * images) are forwarded unchanged by a transform and ignored by a sink:
 * C code never sees them.
 *
 * Errors: a function returns HARK_ERROR after calling hark_fail() with a
 * message; the host reports it as the node's failure (the pipeline's
 * restart policy decides what follows). A crash in C code (a bad pointer)
 * cannot be caught: it ends the host process, as it would any program.
 *
 * Compatibility: the host refuses a library whose `abi_version` major
 * (`HARK_C_ABI_VERSION >> 16`) differs from its own. Later minor versions
 * only add fields at the end of `hark_host_api` (check `api->size`) and
 * never change what is here.
 *
 * Build: cc -shared -fPIC -O2 -I path/to/hark/sdk/c -o libmine.so mine.c
 */
#ifndef HARK_PLUGIN_H
#define HARK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Major version in the high 16 bits, minor in the low 16 bits. */
#define HARK_C_ABI_VERSION ((1u << 16) | 0u)

/* What a node does; must match the `c` plugin kind used in the pipeline. */
typedef enum hark_role {
    HARK_SOURCE = 0,    /* produces messages: `produce` */
    HARK_TRANSFORM = 1, /* input `in`, output `out`: `on_message` */
    HARK_SINK = 2       /* input `in` only: `on_message` */
} hark_role;

/* What a node function reports. */
typedef enum hark_status {
    HARK_OK = 0,       /* done; for `produce`: call again */
    HARK_ERROR = 1,    /* failed; the message was given to hark_fail() */
    HARK_FINISHED = 2  /* `produce` only: the source is exhausted */
} hark_status;

typedef enum hark_payload {
    HARK_TEXT = 0,
    HARK_AUDIO = 1
} hark_payload;

/* A message. The host owns what it passes in: copy what you keep. What
 * you emit is copied by the host during hark_emit(). */
typedef struct hark_message {
    hark_payload payload;
    /* HARK_TEXT: UTF-8, `text_len` bytes, also NUL-terminated when the
     * host passes it (not required when you emit). */
    const char *text;
    size_t text_len;
    /* HARK_AUDIO: `sample_count` interleaved samples in [-1, 1]. */
    const float *samples;
    size_t sample_count;
    uint32_t sample_rate;
    uint16_t channels;
} hark_message;

struct hark_host_api;

/* The host side of one node; passed to every call. */
typedef struct hark_host {
    const struct hark_host_api *api;
} hark_host;

/* Log levels for hark_log(). */
typedef enum hark_log_level {
    HARK_LOG_DEBUG = 1,
    HARK_LOG_INFO = 2,
    HARK_LOG_WARN = 3,
    HARK_LOG_ERROR = 4
} hark_log_level;

/* What the host offers; reach it through the helpers below. */
typedef struct hark_host_api {
    uint32_t abi_version; /* the host's HARK_C_ABI_VERSION */
    uint32_t size;        /* sizeof(hark_host_api) in the host */
    /* Sends a message on the node's output. Returns 0, or -1 when the
     * pipeline is stopping (a source should then return HARK_FINISHED).
     * Blocks while the downstream queue is full. */
    int (*emit)(hark_host *host, const hark_message *message);
    /* The setting `key` of the node's `settings` map, as text; NULL when
     * the pipeline does not set it. Valid for the node's life. */
    const char *(*setting)(hark_host *host, const char *key);
    /* Logs a line attributed to the node. */
    void (*log)(hark_host *host, hark_log_level level, const char *message);
    /* Records why the current call is about to return HARK_ERROR. */
    void (*fail)(hark_host *host, const char *message);
} hark_host_api;

/* One kind of node the library offers. */
typedef struct hark_kind {
    const char *name;    /* the `node` value in the pipeline */
    const char *summary; /* one line; shown when a pipeline names a kind the library lacks */
    hark_role role;
    /* Creates a node: returns its state (any non-NULL pointer), or NULL
     * after hark_fail(). Read settings here. */
    void *(*create)(hark_host *host);
    /* Transforms and sinks: a message arrived. NULL for sources. */
    hark_status (*on_message)(void *node, hark_host *host, const hark_message *message);
    /* Sources: produce the next message(s); HARK_FINISHED when done. May
     * block for about one frame, never indefinitely. NULL otherwise. */
    hark_status (*produce)(void *node, hark_host *host);
    /* Every input has ended: emit what is buffered. May be NULL. */
    hark_status (*flush)(void *node, hark_host *host);
    /* Frees the node. Called once, last. May be NULL. */
    void (*destroy)(void *node);
} hark_kind;

/* The library's description. */
typedef struct hark_plugin {
    uint32_t abi_version; /* HARK_C_ABI_VERSION the library was built with */
    const char *name;
    const char *version;
    const hark_kind *kinds;
    size_t kind_count;
} hark_plugin;

/* The one symbol a library exports. */
#define HARK_PLUGIN_ENTRY hark_plugin_entry
typedef const hark_plugin *(*hark_plugin_entry_fn)(void);

#if defined(_WIN32)
#define HARK_EXPORT __declspec(dllexport)
#else
#define HARK_EXPORT __attribute__((visibility("default")))
#endif

/* Helpers. */
static inline int hark_emit(hark_host *host, const hark_message *message) {
    return host->api->emit(host, message);
}

static inline int hark_emit_text(hark_host *host, const char *text, size_t len) {
    hark_message m = {HARK_TEXT, text, len, NULL, 0, 0, 0};
    return host->api->emit(host, &m);
}

static inline const char *hark_setting(hark_host *host, const char *key) {
    return host->api->setting(host, key);
}

static inline void hark_log(hark_host *host, hark_log_level level, const char *message) {
    host->api->log(host, level, message);
}

static inline void hark_fail(hark_host *host, const char *message) {
    host->api->fail(host, message);
}

#ifdef __cplusplus
}
#endif

#endif /* HARK_PLUGIN_H */

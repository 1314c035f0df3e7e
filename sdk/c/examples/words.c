/*
 * words.c: an example C plugin for Hark, two node kinds.
 *
 *   countdown (source):    emits "N", "N-1", ... "1" (setting `from`, 3)
 *   reverse   (transform): reverses the order of the words of each text;
 *                          fails on a text longer than `max_words` (64)
 *
 * Build:  cc -shared -fPIC -O2 -I sdk/c -o target/c/libwords.so sdk/c/examples/words.c
 * Run:    hark run pipelines/c-words.ron
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hark_plugin.h"

/* A setting as a positive integer, or `fallback` when unset. */
static int int_setting(hark_host *host, const char *key, int fallback, int *out) {
    const char *text = hark_setting(host, key);
    if (text == NULL) {
        *out = fallback;
        return 0;
    }
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || value < 0 || value > 1000000) {
        char message[160];
        snprintf(message, sizeof message, "`%s` must be a whole number from 0 to 1000000, not \"%s\"", key, text);
        hark_fail(host, message);
        return -1;
    }
    *out = (int)value;
    return 0;
}

/* countdown */

typedef struct countdown {
    int next;
} countdown;

static void *countdown_create(hark_host *host) {
    countdown *node = calloc(1, sizeof *node);
    if (node == NULL || int_setting(host, "from", 3, &node->next) != 0) {
        free(node);
        return NULL;
    }
    return node;
}

static hark_status countdown_produce(void *state, hark_host *host) {
    countdown *node = state;
    if (node->next <= 0) {
        return HARK_FINISHED;
    }
    char text[16];
    int len = snprintf(text, sizeof text, "%d", node->next--);
    return hark_emit_text(host, text, (size_t)len) == 0 ? HARK_OK : HARK_FINISHED;
}

/* reverse */

typedef struct reverse {
    int max_words;
    char *buffer;
    size_t capacity;
} reverse;

static void *reverse_create(hark_host *host) {
    reverse *node = calloc(1, sizeof *node);
    if (node == NULL || int_setting(host, "max_words", 64, &node->max_words) != 0) {
        free(node);
        return NULL;
    }
    return node;
}

static hark_status reverse_on_message(void *state, hark_host *host, const hark_message *message) {
    reverse *node = state;
    if (message->payload != HARK_TEXT) {
        hark_fail(host, "reverse takes text, not audio");
        return HARK_ERROR;
    }
    if (node->capacity < message->text_len + 1) {
        char *grown = realloc(node->buffer, message->text_len + 1);
        if (grown == NULL) {
            hark_fail(host, "out of memory");
            return HARK_ERROR;
        }
        node->buffer = grown;
        node->capacity = message->text_len + 1;
    }
    /* Copy the words from last to first, one space between them. */
    const char *text = message->text;
    size_t end = message->text_len, out = 0;
    int words = 0;
    while (end > 0) {
        while (end > 0 && text[end - 1] == ' ') end--;
        size_t start = end;
        while (start > 0 && text[start - 1] != ' ') start--;
        if (start == end) break;
        if (++words > node->max_words) {
            char why[96];
            snprintf(why, sizeof why, "more than %d words (the `max_words` setting)", node->max_words);
            hark_fail(host, why);
            return HARK_ERROR;
        }
        if (out > 0) node->buffer[out++] = ' ';
        memcpy(node->buffer + out, text + start, end - start);
        out += end - start;
        end = start;
    }
    /* -1 means the pipeline is stopping: nothing more to do either way. */
    hark_emit_text(host, node->buffer, out);
    return HARK_OK;
}

static void reverse_destroy(void *state) {
    reverse *node = state;
    free(node->buffer);
    free(node);
}

static const hark_kind KINDS[] = {
    {"countdown", "Counts down from `from` to 1, one text per number", HARK_SOURCE,
     countdown_create, NULL, countdown_produce, NULL, free},
    {"reverse", "Reverses the order of the words of each text", HARK_TRANSFORM,
     reverse_create, reverse_on_message, NULL, NULL, reverse_destroy},
};

static const hark_plugin PLUGIN = {
    HARK_C_ABI_VERSION, "words", "0.1.0", KINDS, sizeof KINDS / sizeof KINDS[0],
};

HARK_EXPORT const hark_plugin *hark_plugin_entry(void) {
    return &PLUGIN;
}

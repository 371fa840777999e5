/*
 * maincf-raw: print the values Postfix itself stores for a main.cf, by
 * loading it with libpostfix-util's own loader (dict_load_file_xt, the
 * function behind mail_conf_read). One line per parameter, sorted by name:
 * NAME<TAB>VALUE, with backslash escapes \\ \t \r \n \v \f and \xNN for
 * every other byte outside 0x20..0x7e.
 *
 * Build (Debian layout):
 *   gcc -O1 -o maincf-raw maincf-raw.c -L/usr/lib/postfix -lpostfix-util \
 *       -Wl,-rpath,/usr/lib/postfix
 * Used by conformance/regenerate-maincf.sh (*.raw) and, through the env var
 * MAINCF_RAW, by postfix-maincf/tests/raw_oracle.rs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpostfix-util entry points (no public headers are installed). */
int dict_load_file_xt(const char *dict_name, const char *path);
int dict_sequence(const char *dict_name, const int func, const char **key, const char **value);
const char *dict_lookup(const char *dict_name, const char *key);
void msg_output(void (*hook)(int, const char *));

static void put_escaped(const char *text)
{
    const unsigned char *p;

    for (p = (const unsigned char *) text; *p; p++) {
        switch (*p) {
        case '\\': fputs("\\\\", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\v': fputs("\\v", stdout); break;
        case '\f': fputs("\\f", stdout); break;
        default:
            if (*p >= 0x20 && *p <= 0x7e)
                putchar(*p);
            else
                printf("\\x%02x", *p);
        }
    }
}

static void log_hook(int level, const char *text)
{
    fprintf(stderr, "maincf-raw: level %d: %s\n", level, text);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

int main(int argc, char **argv)
{
    const char *name;
    const char *value;
    char **names = NULL;
    size_t count = 0;
    size_t i;
    int how = 0;                        /* DICT_SEQ_FUN_FIRST, then NEXT */

    if (argc != 2) {
        fprintf(stderr, "usage: maincf-raw MAIN.CF\n");
        return 2;
    }
    msg_output(log_hook);
    if (dict_load_file_xt("maincf-raw", argv[1]) == 0) {
        perror(argv[1]);
        return 1;
    }
    while (dict_sequence("maincf-raw", how, &name, &value) == 0) {
        char **grown = realloc(names, (count + 1) * sizeof(*names));

        if (grown == NULL)
            return 1;
        names = grown;
        names[count++] = strdup(name);
        how = 1;
    }
    qsort(names, count, sizeof(*names), by_name);
    for (i = 0; i < count; i++) {
        put_escaped(names[i]);
        putchar('\t');
        put_escaped(dict_lookup("maincf-raw", names[i]));
        putchar('\n');
    }
    return 0;
}

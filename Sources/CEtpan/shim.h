#ifndef OUTREACH_CETPAN_SHIM_H
#define OUTREACH_CETPAN_SHIM_H
#include <libetpan/libetpan.h>

// clist_append and friends are macros, which Swift cannot see.
static inline int cetpan_clist_append(clist *list, void *data) {
    return clist_insert_after(list, list->last, data);
}
#endif

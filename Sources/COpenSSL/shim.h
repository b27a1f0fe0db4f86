#ifndef OUTREACH_COPENSSL_SHIM_H
#define OUTREACH_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>

// The STACK_OF(X509) helpers are macros over typed inline functions; wrap the few we need.
static inline STACK_OF(X509) *copenssl_x509_stack_new(void) { return sk_X509_new_null(); }
static inline int copenssl_x509_stack_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline void copenssl_x509_stack_free_all(STACK_OF(X509) *s) { sk_X509_pop_free(s, X509_free); }
// d2i_X509 takes a pointer it advances; hide that from Swift.
static inline X509 *copenssl_x509_from_der(const unsigned char *der, long length) {
    const unsigned char *p = der;
    return d2i_X509(NULL, &p, length);
}
#endif

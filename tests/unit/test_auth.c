/* Tokens, their hashes, password hashing and the role matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth.h"

static int setup(void **state)
{
    (void)state;
    return auth_init() ? 0 : -1;
}

static void tokens_are_prefixed_long_and_distinct(void **state)
{
    (void)state;
    char first[AUTH_TOKEN_SIZE], second[AUTH_TOKEN_SIZE];
    auth_token_generate(AUTH_SESSION_TOKEN_PREFIX, first);
    auth_token_generate(AUTH_SESSION_TOKEN_PREFIX, second);
    assert_memory_equal(first, "bvt_", 4);
    /* 32 random bytes are 43 base64url characters: 256 bits ≥ 128. */
    assert_int_equal(strlen(first), 4 + 43);
    assert_string_not_equal(first, second);
    for (const char *c = first + 4; *c; c++)
        assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-_", *c));
}

static void token_hash_is_sha256_hex(void **state)
{
    (void)state;
    char hash[AUTH_TOKEN_HASH_HEX_SIZE];
    auth_token_hash_hex("abc", hash);
    assert_string_equal(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void passwords_verify_only_themselves(void **state)
{
    (void)state;
    char hash[AUTH_PASSWORD_HASH_SIZE];
    assert_true(auth_password_hash("mật khẩu đúng", hash));
    assert_memory_equal(hash, "$argon2id$", 10);
    assert_true(auth_password_verify(hash, "mật khẩu đúng"));
    assert_false(auth_password_verify(hash, "mật khẩu sai"));
    assert_false(auth_password_verify(NULL, "anything"));
}

static void roles_parse_and_print(void **state)
{
    (void)state;
    for (int role = 0; role < ROLE_COUNT; role++)
        assert_int_equal(role_parse(role_name((enum role)role)), role);
    assert_int_equal(role_parse("root"), ROLE_INVALID);
    assert_int_equal(role_parse(NULL), ROLE_INVALID);
}

static void every_role_may_read_reference_data(void **state)
{
    (void)state;
    for (int role = 0; role < ROLE_COUNT; role++) {
        assert_true(role_has_permission((enum role)role, PERMISSION_PUBLIC));
        assert_true(role_has_permission((enum role)role, PERMISSION_AUTHENTICATED));
        assert_true(role_has_permission((enum role)role, PERMISSION_REFERENCE_READ));
    }
    assert_false(role_has_permission(ROLE_INVALID, PERMISSION_AUTHENTICATED));
    assert_true(role_has_permission(ROLE_INVALID, PERMISSION_PUBLIC));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_are_prefixed_long_and_distinct),
        cmocka_unit_test(token_hash_is_sha256_hex),
        cmocka_unit_test(passwords_verify_only_themselves),
        cmocka_unit_test(roles_parse_and_print),
        cmocka_unit_test(every_role_may_read_reference_data),
    };
    return cmocka_run_group_tests_name("auth", tests, setup, NULL);
}

/* Webhook signing (the Standard Webhooks reference vector), secrets, and
 * the address and URL rules that keep webhooks out of private networks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "webhook.h"

static void signs_the_reference_vector(void **state)
{
    (void)state;
    char signature[WEBHOOK_SIGNATURE_SIZE];
    const char *body = "{\"test\": 2432232314}";
    assert_true(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                             "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body, strlen(body),
                             signature));
    assert_string_equal(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_false(webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", "1", body,
                              strlen(body), signature));
    assert_false(webhook_sign("whsec_!!!", "id", "1", body, strlen(body), signature));
}

static void generates_distinct_secrets(void **state)
{
    (void)state;
    char first[WEBHOOK_SECRET_SIZE], second[WEBHOOK_SECRET_SIZE];
    webhook_secret_generate(first);
    webhook_secret_generate(second);
    assert_int_equal(strncmp(first, "whsec_", 6), 0);
    assert_int_equal(strlen(first), 6 + 44);
    assert_string_not_equal(first, second);
    char signature[WEBHOOK_SIGNATURE_SIZE];
    assert_true(webhook_sign(first, "id", "1", "{}", 2, signature));
}

static bool private_v4(const char *text)
{
    struct sockaddr_in address = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, text, &address.sin_addr), 1);
    return webhook_address_private((struct sockaddr *)&address);
}

static bool private_v6(const char *text)
{
    struct sockaddr_in6 address = {.sin6_family = AF_INET6};
    assert_int_equal(inet_pton(AF_INET6, text, &address.sin6_addr), 1);
    return webhook_address_private((struct sockaddr *)&address);
}

static void knows_private_addresses(void **state)
{
    (void)state;
    const char *private4[] = {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                              "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
                              "224.0.0.1", "255.255.255.255"};
    for (size_t i = 0; i < sizeof private4 / sizeof private4[0]; i++)
        assert_true(private_v4(private4[i]));
    assert_false(private_v4("8.8.8.8"));
    assert_false(private_v4("172.32.0.1"));
    assert_false(private_v4("203.113.131.1"));
    const char *private6[] = {"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
                              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "2001:db8::1"};
    for (size_t i = 0; i < sizeof private6 / sizeof private6[0]; i++)
        assert_true(private_v6(private6[i]));
    assert_false(private_v6("2001:4860:4860::8888"));
    assert_false(private_v6("::ffff:8.8.8.8"));
}

static void refuses_bad_urls(void **state)
{
    (void)state;
    unsetenv("BAOVE_WEBHOOK_ALLOW_HOSTS");
    assert_string_equal(webhook_url_refusal("http://8.8.8.8/hook"), "must be an https URL");
    assert_string_equal(webhook_url_refusal("ftp://example.org/"), "must be an https URL");
    assert_string_equal(webhook_url_refusal("https://user:pw@8.8.8.8/"),
                        "must not carry user information");
    assert_string_equal(webhook_url_refusal("https:///x"), "must name a host");
    assert_string_equal(webhook_url_refusal("https://127.0.0.1:8443/hook"),
                        "resolves to a private, loopback or link-local address");
    assert_string_equal(webhook_url_refusal("https://[::1]/hook"),
                        "resolves to a private, loopback or link-local address");
    assert_null(webhook_url_refusal("https://8.8.8.8/hook"));
    setenv("BAOVE_WEBHOOK_ALLOW_HOSTS", "localhost, 127.0.0.1", 1);
    assert_null(webhook_url_refusal("http://127.0.0.1:9/hook"));
    assert_null(webhook_url_refusal("http://LOCALHOST/hook"));
    assert_true(webhook_host_allowed("127.0.0.1"));
    assert_false(webhook_host_allowed("127.0.0.2"));
    assert_false(webhook_host_allowed("127.0.0"));
    unsetenv("BAOVE_WEBHOOK_ALLOW_HOSTS");
}

/* Writes text to a new file and points BAOVE_SECRETS_KEY_FILE at it. */
static void use_key_file(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/baove-test-key-XXXXXX");
    int descriptor = mkstemp(path);
    assert_true(descriptor >= 0);
    assert_int_equal(write(descriptor, text, strlen(text)), (ssize_t)strlen(text));
    close(descriptor);
    setenv("BAOVE_SECRETS_KEY_FILE", path, 1);
}

static void seals_and_opens_secrets(void **state)
{
    (void)state;
    char error[256], path[64], secret[WEBHOOK_SECRET_SIZE], sealed[WEBHOOK_SEALED_SIZE];
    char opened[WEBHOOK_SECRET_SIZE];
    webhook_secret_generate(secret);
    /* Without a key: nothing seals, a stored secret opens as it is, a sealed
     * one not at all. */
    unsetenv("BAOVE_SECRETS_KEY_FILE");
    assert_true(webhook_sealing_init(error, sizeof error));
    assert_false(webhook_sealing_enabled());
    assert_false(webhook_secret_seal(secret, sealed));
    assert_true(webhook_secret_open(secret, opened));
    assert_string_equal(opened, secret);

    use_key_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    assert_true(webhook_sealing_init(error, sizeof error));
    unlink(path);
    assert_true(webhook_sealing_enabled());
    assert_true(webhook_secret_seal(secret, sealed));
    assert_int_equal(strncmp(sealed, WEBHOOK_SEALED_PREFIX, strlen(WEBHOOK_SEALED_PREFIX)), 0);
    assert_null(strstr(sealed, secret + strlen(WEBHOOK_SECRET_PREFIX)));
    assert_true(webhook_secret_open(sealed, opened));
    assert_string_equal(opened, secret);
    char again[WEBHOOK_SEALED_SIZE]; /* a fresh nonce each time */
    assert_true(webhook_secret_seal(secret, again));
    assert_string_not_equal(again, sealed);
    assert_true(webhook_secret_open(secret, opened)); /* stored before sealing */
    assert_string_equal(opened, secret);

    /* Altered, truncated or not base64: refused. */
    char altered[WEBHOOK_SEALED_SIZE];
    snprintf(altered, sizeof altered, "%s", sealed);
    size_t middle = strlen(WEBHOOK_SEALED_PREFIX) + 40;
    altered[middle] = altered[middle] == 'A' ? 'B' : 'A';
    assert_false(webhook_secret_open(altered, opened));
    assert_string_equal(opened, "");
    snprintf(altered, sizeof altered, "%.*s", (int)strlen(WEBHOOK_SEALED_PREFIX) + 20, sealed);
    assert_false(webhook_secret_open(altered, opened));
    assert_false(webhook_secret_open(WEBHOOK_SEALED_PREFIX "!!!", opened));

    /* Another key opens nothing the first sealed. */
    use_key_file(path, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
    assert_true(webhook_sealing_init(error, sizeof error));
    unlink(path);
    assert_false(webhook_secret_open(sealed, opened));

    /* A key file that is not 64 hex digits, or is not there, is refused. */
    use_key_file(path, "0011223344");
    assert_false(webhook_sealing_init(error, sizeof error));
    assert_non_null(strstr(error, "64 hex digits"));
    assert_false(webhook_sealing_enabled());
    unlink(path);
    assert_false(webhook_sealing_init(error, sizeof error));
    assert_non_null(strstr(error, "cannot be read"));
    unsetenv("BAOVE_SECRETS_KEY_FILE");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signs_the_reference_vector),
        cmocka_unit_test(generates_distinct_secrets),
        cmocka_unit_test(knows_private_addresses),
        cmocka_unit_test(refuses_bad_urls),
        cmocka_unit_test(seals_and_opens_secrets),
    };
    return cmocka_run_group_tests_name("webhook", tests, NULL, NULL);
}

/* test_cookie: the exit's freshness cookies (core/cookie.h). */
#include <criterion/criterion.h>

#include <string.h>

#include "core/cookie.h"

Test(cookie, holds_for_its_epoch_and_the_next_only)
{
        struct cookie_jar j;
        uint8_t c[FRAME_COOKIE_LEN];

        cr_assert_eq(cookie_jar_init(&j), 0);
        cookie_make(&j, 0, 42, 7, 100, c);
        cr_assert(cookie_check(&j, 0, 42, 7, 100, c));
        cr_assert(cookie_check(&j, 0, 42, 7, 101, c));
        cr_assert_not(cookie_check(&j, 0, 42, 7, 102, c), "two epochs old");
        cr_assert_not(cookie_check(&j, 0, 42, 7, 99, c), "from the future");
        cookie_jar_wipe(&j);
}

Test(cookie, names_key_instance_and_incarnation)
{
        struct cookie_jar j;
        uint8_t c[FRAME_COOKIE_LEN];

        cr_assert_eq(cookie_jar_init(&j), 0);
        cookie_make(&j, 1, 42, 7, 5, c);
        cr_assert(cookie_check(&j, 1, 42, 7, 5, c));
        cr_assert_not(cookie_check(&j, 0, 42, 7, 5, c), "another key");
        cr_assert_not(cookie_check(&j, 1, 43, 7, 5, c), "another instance");
        cr_assert_not(cookie_check(&j, 1, 42, 8, 5, c), "an instance made anew");
        cr_assert_not(cookie_check(&j, 1, 42, 0, 5, c), "the creation cookie is another");
        cookie_jar_wipe(&j);
}

Test(cookie, a_restarted_exit_knows_none_of_the_old_ones)
{
        struct cookie_jar a, b;
        uint8_t c[FRAME_COOKIE_LEN];
        static const uint8_t zero[FRAME_COOKIE_LEN];

        cr_assert_eq(cookie_jar_init(&a), 0);
        cr_assert_eq(cookie_jar_init(&b), 0);
        cookie_make(&a, 0, 42, 7, 5, c);
        cr_assert_not(cookie_check(&b, 0, 42, 7, 5, c));
        cr_assert_not(cookie_check(&a, 0, 42, 7, 5, zero), "an all-zero cookie never holds");
        cookie_jar_wipe(&a);
        cookie_jar_wipe(&b);
}

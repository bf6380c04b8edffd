// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for core/insn.c.  Each input is decoded in all four
 * modes; besides ASan/UBSan catching overreads and undefined behaviour, a
 * broken invariant of the API (see core/insn.h) aborts.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/insn.h"

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static bool valid_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static void check_one(const u8 *data, unsigned int size,
		      enum khyp_cpu_mode mode)
{
	static const struct khyp_insn zero;
	struct khyp_insn insn, again;
	unsigned int limit = size < KHYP_INSN_MAX_LEN ? size : KHYP_INSN_MAX_LEN;
	u64 v;
	int ret;

	ret = khyp_insn_decode(data, size, mode, &insn);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENODATA);
		CHECK(ret != -ENODATA || size < KHYP_INSN_MAX_LEN);
		CHECK(!memcmp(&insn, &zero, sizeof(zero)));
		return;
	}

	CHECK(insn.len >= 2 && insn.len <= limit);
	CHECK(valid_size(insn.size) && valid_size(insn.dst_size));
	CHECK(insn.kind >= KHYP_INSN_LOAD && insn.kind <= KHYP_INSN_STORE_IMM);
	CHECK(insn.reg <= 15);
	CHECK(!insn.high_byte || (insn.reg <= 3 && insn.size == 1 &&
				  insn.dst_size == 1));
	CHECK(mode == KHYP_MODE_LONG64 || (insn.reg <= 7 && insn.size <= 4 &&
					   insn.dst_size <= 4));
	if (insn.kind == KHYP_INSN_LOAD) {
		CHECK(insn.extend <= KHYP_EXT_SIGN);
		CHECK(insn.extend == KHYP_EXT_NONE ?
		      insn.dst_size == insn.size : insn.dst_size > insn.size);
	} else {
		CHECK(insn.extend == KHYP_EXT_NONE);
		CHECK(insn.dst_size == insn.size);
	}
	if (insn.kind != KHYP_INSN_STORE_IMM)
		CHECK(insn.imm == 0);
	else
		CHECK(insn.reg == 0 && !insn.high_byte);

	/* The decode depends on the first len bytes only. */
	CHECK(khyp_insn_decode(data, insn.len, mode, &again) == 0);
	CHECK(!memcmp(&insn, &again, sizeof(insn)));
	CHECK(khyp_insn_decode(data, insn.len - 1, mode, &again) == -ENODATA);

	/* The helpers: results fit their sizes. */
	v = khyp_insn_store_value(&insn, 0xfedcba9876543210ULL);
	CHECK(insn.size == 8 || v >> (8 * insn.size) == 0);
	if (insn.kind == KHYP_INSN_LOAD) {
		v = khyp_insn_load_value(&insn, ~0ULL, 0);
		if (insn.dst_size == 4)
			CHECK(v == 0);
		if (insn.dst_size <= 2)
			CHECK(v != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int n = size > 64 ? 64 : size;

	check_one(data, n, KHYP_MODE_REAL);
	check_one(data, n, KHYP_MODE_PROT16);
	check_one(data, n, KHYP_MODE_PROT32);
	check_one(data, n, KHYP_MODE_LONG64);
	return 0;
}

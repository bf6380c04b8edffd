/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints for guest entry and exit: "trace-cmd record -e khyp" or
 * "perf record -e 'khyp:*'" shows every trip into a guest and why it
 * ended (kind: the common exit model of core/khyp.h; hw: the backend's
 * raw exit reason).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM khyp

#if !defined(KHYP_CORE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KHYP_CORE_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(khyp_entry,
	    TP_PROTO(unsigned int vm, unsigned int vcpu, u64 rip),
	    TP_ARGS(vm, vcpu, rip),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(unsigned int, vcpu)
			     __field(u64, rip)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;
			   __entry->rip = rip;),
	    TP_printk("vm %u vcpu %u rip %#llx", __entry->vm, __entry->vcpu,
		      __entry->rip)
);

TRACE_EVENT(khyp_exit,
	    TP_PROTO(unsigned int vm, unsigned int vcpu, unsigned int kind,
		     u64 hw_code, u64 rip),
	    TP_ARGS(vm, vcpu, kind, hw_code, rip),
	    TP_STRUCT__entry(__field(unsigned int, vm)
			     __field(unsigned int, vcpu)
			     __field(unsigned int, kind)
			     __field(u64, hw_code)
			     __field(u64, rip)),
	    TP_fast_assign(__entry->vm = vm;
			   __entry->vcpu = vcpu;
			   __entry->kind = kind;
			   __entry->hw_code = hw_code;
			   __entry->rip = rip;),
	    TP_printk("vm %u vcpu %u kind %u hw %#llx rip %#llx", __entry->vm,
		      __entry->vcpu, __entry->kind, __entry->hw_code,
		      __entry->rip)
);

#endif /* KHYP_CORE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH core
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>

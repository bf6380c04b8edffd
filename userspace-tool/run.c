// SPDX-License-Identifier: GPL-2.0
/*
 * The run loop of `khyp run`: KHYP_RUN on a vCPU, then one switch on why
 * it came back.  It ends with the launcher's exit status (khyp.h): the
 * guest's own through the debug-exit port, a HLT, a triple fault, an
 * internal error, the --timeout, or a signal.
 *
 * With --cpus N > 1 each vCPU has a thread of its own: vCPU 0 runs in
 * the main thread, from the image's entry; vCPUs 1..N-1 call KHYP_RUN
 * from the start and wait in the kernel until the guest starts them with
 * INIT and SIPI (docs/smp.md).  Exits are handled one at a time, under
 * m->lock, so the devices need no locks of their own.  The first vCPU
 * whose loop ends with a status ends the run: machine__stop() records
 * it and makes every other KHYP_RUN return (immediate_exit, then
 * SIGUSR1 to the threads, whose KHYP_RUN may be waiting for SIPI).
 *
 * Stopping without a race: the SIGALRM of --timeout and the stopping
 * signals (delivered to the main thread only: the others block them) set
 * immediate_exit in every run page before the loops see the flag, so a
 * signal that lands just before KHYP_RUN still makes it return at once
 * with EINTR.
 */
#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <unistd.h>

#include "khyp.h"

static struct vm *volatile run_vm;
static volatile sig_atomic_t run_stop_signal;
static volatile sig_atomic_t run_timed_out;
static bool run_timer_armed;
static const int run_stop_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM,
};

static void run__on_signal(int sig)
{
	struct vm *vm = run_vm;
	unsigned int i;

	if (sig == SIGALRM)
		run_timed_out = 1;
	else
		run_stop_signal = sig;
	for (i = 0; vm && i < vm->nr_vcpus; i++)
		vm->vcpus[i].run->immediate_exit = 1;
}

/* SIGUSR1 only interrupts a KHYP_RUN of another thread (machine__stop()). */
static void run__on_kick(int sig)
{
	(void)sig;
}

static int run__arm(const struct run_opts *o, struct vm *vm)
{
	struct itimerval it = { 0 };
	struct sigaction sa;
	unsigned int i;

	run_vm = vm;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = run__on_signal;		/* no SA_RESTART */
	for (i = 0; i < sizeof(run_stop_signals) / sizeof(run_stop_signals[0]);
	     i++)
		sigaction(run_stop_signals[i], &sa, NULL);
	sa.sa_handler = run__on_kick;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* one that came between two boots (--reboot restart) */
	if (run_timed_out || run_stop_signal)
		run__on_signal(run_timed_out ? SIGALRM : run_stop_signal);
	/* --timeout counts from the first boot, across restarts */
	if (o->timeout <= 0 || run_timer_armed)
		return 0;
	run_timer_armed = true;
	it.it_value.tv_sec = (time_t)o->timeout;
	it.it_value.tv_usec = (suseconds_t)((o->timeout - it.it_value.tv_sec) * 1e6);
	if (!it.it_value.tv_sec && !it.it_value.tv_usec)
		it.it_value.tv_usec = 1;
	if (setitimer(ITIMER_REAL, &it, NULL)) {
		perror("khyp: setitimer");
		return -1;
	}
	return 0;
}

static const char *exit_name(uint32_t reason)
{
	static const char * const names[] = {
		[KHYP_EXIT_NONE] = "NONE",
		[KHYP_EXIT_IO] = "IO",
		[KHYP_EXIT_MMIO] = "MMIO",
		[KHYP_EXIT_HLT] = "HLT",
		[KHYP_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KHYP_EXIT_HYPERCALL] = "HYPERCALL",
		[KHYP_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KHYP_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KHYP_EXIT_INTR] = "INTR",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "UNKNOWN";
}

static const char *internal_name(uint32_t suberror)
{
	switch (suberror) {
	case KHYP_INTERNAL_EMULATION:
		return "instruction not emulated (MMIO)";
	case KHYP_INTERNAL_UNEXPECTED_EXIT:
		return "exit khyp does not handle";
	case KHYP_INTERNAL_INVALID_STATE:
		return "the hardware refused the guest state";
	case KHYP_INTERNAL_UNSUPPORTED_IO:
		return "string or REP port I/O";
	case KHYP_INTERNAL_DELIVERY:
		return "MMIO while delivering an event";
	}
	return "unknown suberror";
}

/* One line per exit: reason, the RIP it resumes at, the details. */
static void run__trace(struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	struct khyp_regs r;

	if (ioctl(vcpu->fd, KHYP_GET_REGS, &r))
		r.rip = ~0ULL;
	fprintf(stderr, "khyp: exit %s rip 0x%llx", exit_name(run->exit_reason),
		r.rip);
	switch (run->exit_reason) {
	case KHYP_EXIT_IO:
		fprintf(stderr, " port 0x%x %s size %u data 0x%" PRIx64,
			run->io.port,
			run->io.direction == KHYP_IO_OUT ? "out" : "in",
			run->io.size, (uint64_t)run->io.data);
		break;
	case KHYP_EXIT_MMIO:
		fprintf(stderr, " gpa 0x%" PRIx64 " %s size %u data 0x%" PRIx64,
			(uint64_t)run->mmio.phys_addr,
			run->mmio.is_write ? "write" : "read",
			run->mmio.size, (uint64_t)run->mmio.data);
		break;
	case KHYP_EXIT_HYPERCALL:
		fprintf(stderr, " nr %" PRIu64 " args 0x%" PRIx64 " 0x%" PRIx64 " ret 0x%" PRIx64,
			(uint64_t)run->hypercall.nr,
			(uint64_t)run->hypercall.args[0],
			(uint64_t)run->hypercall.args[1],
			(uint64_t)run->hypercall.ret);
		break;
	case KHYP_EXIT_HLT:
		fprintf(stderr, " if %u", run->if_flag);
		break;
	case KHYP_EXIT_INTERNAL_ERROR:
		fprintf(stderr, " suberror %u", run->internal.suberror);
		break;
	}
	fputc('\n', stderr);
}

static int run__internal_error(struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;
	uint32_t i, n = run->internal.ndata;

	fprintf(stderr, "khyp: internal error %u: %s; hardware exit code 0x%" PRIx64 "\n",
		run->internal.suberror, internal_name(run->internal.suberror),
		(uint64_t)run->internal.hw_exit_code);
	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++)
		fprintf(stderr, "  data[%u] 0x%016" PRIx64 "\n", i,
			(uint64_t)run->internal.data[i]);
	vcpu__dump(vcpu);
	return STATUS_INTERNAL;
}

static int run__exit(struct machine *m, struct vcpu *vcpu)
{
	struct khyp_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KHYP_EXIT_IO:
		return ioport__handle(m, vcpu);
	case KHYP_EXIT_MMIO:
		return mmio__handle(m, vcpu);
	case KHYP_EXIT_HYPERCALL:
		return hypercall__handle(m, vcpu);
	case KHYP_EXIT_HLT:
		/* nothing can wake it: no interrupt sources exist yet */
		return STATUS_HALTED;
	case KHYP_EXIT_SHUTDOWN:
		/* a PC's chipset resets on shutdown: --reboot restart does */
		if (m->opts->reboot_restart)
			return machine__reset(m, "triple fault");
		fprintf(stderr, "khyp: the guest triple-faulted (shutdown)\n");
		vcpu__dump(vcpu);	/* where: the state the fault left */
		return STATUS_TRIPLE_FAULT;
	case KHYP_EXIT_INTERNAL_ERROR:
		return run__internal_error(vcpu);
	case KHYP_EXIT_IRQ_WINDOW_OPEN:
		return RUN_CONTINUE;
	}
	fprintf(stderr, "khyp: unknown exit reason %u\n", run->exit_reason);
	vcpu__dump(vcpu);
	return STATUS_INTERNAL;
}

/*
 * The run ends with @status unless it already ended: every vCPU's
 * KHYP_RUN returns soon (immediate_exit; threads waiting in the kernel
 * are sent SIGUSR1 by machine__run()).  Caller holds m->lock.
 */
static void machine__stop(struct machine *m, int status)
{
	unsigned int i;

	if (m->status == RUN_CONTINUE)
		m->status = status;
	for (i = 0; i < m->vm.nr_vcpus; i++)
		m->vm.vcpus[i].run->immediate_exit = 1;
	if (m->nr_threads)
		pthread_kill(m->main_thread, SIGUSR1);
}

/* KHYP_RUN failed: stop for a signal or the timeout, else a host error. */
static int run__failed(struct machine *m, struct vcpu *vcpu)
{
	if (errno != EINTR) {
		perror("khyp: KHYP_RUN");
		return STATUS_HOST_ERROR;
	}
	if (m->status != RUN_CONTINUE)
		return m->status;	/* another vCPU ended the run */
	if (run_timed_out) {
		fprintf(stderr, "khyp: timeout: the guest ran out of time\n");
		return STATUS_TIMEOUT;
	}
	if (run_stop_signal) {
		fprintf(stderr, "khyp: stopped by signal %d\n", run_stop_signal);
		return 128 + run_stop_signal;
	}
	vcpu->run->immediate_exit = 0;
	return RUN_CONTINUE;
}

static void run__report(const struct machine *m)
{
	if (m->unknown_io || m->opts->trace)
		fprintf(stderr, "khyp: %lu access(es) to unknown I/O ports%s",
			m->unknown_io, m->unknown_io ? " (first: " : "\n");
	if (m->unknown_io) {
		unsigned long named = 0;
		unsigned int i;

		fprintf(stderr, "0x%x; by port:", m->first_unknown_port);
		for (i = 0; i < m->nr_unknown_ports; i++) {
			fprintf(stderr, " 0x%x x%lu", m->unknown_ports[i].port,
				m->unknown_ports[i].count);
			named += m->unknown_ports[i].count;
		}
		if (named < m->unknown_io)
			fprintf(stderr, ", %lu on other ports",
				m->unknown_io - named);
		fprintf(stderr, ")\n");
	}
	if (m->unknown_mmio || m->opts->trace)
		fprintf(stderr, "khyp: %lu MMIO access(es) outside RAM%s",
			m->unknown_mmio, m->unknown_mmio ? " (first: " : "\n");
	if (m->unknown_mmio)
		fprintf(stderr, "0x%" PRIx64 ")\n", m->first_unknown_gpa);
}

/* One vCPU until the run ends; its own status (RUN_CONTINUE: another's). */
static int run__vcpu(struct machine *m, struct vcpu *vcpu)
{
	int status = RUN_CONTINUE;

	for (;;) {
		/* not a KHYP_RUN that returns at once: the run is ending */
		if (!vcpu->id &&
		    !__atomic_load_n(&vcpu->run->immediate_exit, __ATOMIC_RELAXED))
			boot_report__event(&m->boot_report, BOOT_FIRST_ENTRY);
		if (ioctl(vcpu->fd, KHYP_RUN, 0)) {
			pthread_mutex_lock(&m->lock);
			status = run__failed(m, vcpu);
		} else {
			pthread_mutex_lock(&m->lock);
			status = m->status;
			if (status == RUN_CONTINUE)
				status = run__exit(m, vcpu);
			if (m->opts->trace)
				run__trace(vcpu);
		}
		if (status != RUN_CONTINUE || m->status != RUN_CONTINUE) {
			machine__stop(m, status);
			pthread_mutex_unlock(&m->lock);
			return status;
		}
		pthread_mutex_unlock(&m->lock);
	}
}

static void *run__thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct machine *m = vcpu->machine;
	sigset_t set;
	unsigned int i;

	/* The stopping signals go to the main thread. */
	sigemptyset(&set);
	for (i = 0; i < sizeof(run_stop_signals) / sizeof(run_stop_signals[0]);
	     i++)
		sigaddset(&set, run_stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	run__vcpu(m, vcpu);
	__atomic_store_n(&vcpu->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Start vCPUs 1..N-1 in their threads; they wait for INIT and SIPI. */
static int machine__start_aps(struct machine *m)
{
	struct vcpu *vcpu;
	unsigned int i;
	int r;

	m->main_thread = pthread_self();
	for (i = 1; i < m->vm.nr_vcpus; i++) {
		vcpu = &m->vm.vcpus[i];
		vcpu->machine = m;
		r = pthread_create(&vcpu->thread, NULL, run__thread, vcpu);
		if (r) {
			fprintf(stderr, "khyp: thread of vCPU %u: %s\n", i,
				strerror(r));
			return -1;
		}
		m->nr_threads = i;
	}
	return 0;
}

/* Make every thread's KHYP_RUN return and wait for the threads. */
static void machine__join_aps(struct machine *m)
{
	struct vcpu *vcpu;
	unsigned int i;

	for (i = 1; i <= m->nr_threads; i++) {
		vcpu = &m->vm.vcpus[i];
		while (!__atomic_load_n(&vcpu->done, __ATOMIC_ACQUIRE)) {
			pthread_kill(vcpu->thread, SIGUSR1);
			usleep(1000);
		}
		pthread_join(vcpu->thread, NULL);
	}
	m->nr_threads = 0;
}

int machine__run(struct machine *m)
{
	int status = RUN_CONTINUE;

	m->status = RUN_CONTINUE;
	pthread_mutex_init(&m->lock, NULL);
	if (run__arm(m->opts, &m->vm))
		return STATUS_HOST_ERROR;
	if (m->in_fd >= 0)
		term__raw();		/* after the stop signals are caught */
	boot_report__event(&m->boot_report, BOOT_VM_READY);
	if (devices__start(m) || machine__start_aps(m)) {
		pthread_mutex_lock(&m->lock);
		machine__stop(m, STATUS_HOST_ERROR);
		pthread_mutex_unlock(&m->lock);
	}
	status = run__vcpu(m, &m->vm.vcpus[0]);
	machine__join_aps(m);
	devices__stop(m);
	status = m->status != RUN_CONTINUE ? m->status : status;
	run_vm = NULL;
	term__restore();
	run__report(m);
	pthread_mutex_destroy(&m->lock);
	return status;
}

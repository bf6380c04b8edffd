// SPDX-License-Identifier: GPL-2.0
/*
 * A vCPU that spins: the PAUSE exits (KHYP_X_PAUSE), and the yield that
 * follows them.
 *
 * A guest kernel waits for a lock, or for another CPU to finish a
 * function it asked for, in a loop around PAUSE.  On a host that runs
 * the holder's vCPU thread on the same CPU as the waiter's, the waiter
 * spins until the host's tick preempts it, which is milliseconds of
 * nothing, and a 2-vCPU Linux boot in a 1-CPU machine took 3x as long
 * as with 1 vCPU.  Both vendors can stop such a loop: VMX's pause-loop
 * exiting (PLE) exits when PAUSEs come less than PLE_GAP TSC cycles
 * apart for longer than PLE_WINDOW cycles (at CPL 0 only), SVM's pause
 * filter exits at the Nth intercepted PAUSE (with the filter threshold,
 * N in a row less than a threshold apart).  The backend turns it on if
 * the CPU has it and the pause_exit parameter leaves it on
 * (KHYP_CAP_PAUSE_EXIT), and reports the exit as KHYP_X_PAUSE.  RIP
 * stays on the PAUSE, which the guest executes again: it is only a hint,
 * and both vendors start counting afresh after an entry (so no length is
 * needed, which SVM without NRIP save would not give).
 *
 * Here the spinner gives its CPU to a vCPU of its VM that could run but
 * is not running (vcpu->ready): its thread lost its CPU while runnable,
 * or was just woken from a halt, maybe by the spinner's own IPI.  The
 * holder is likely among them.  A vCPU running on another CPU, in its
 * guest or in the host, is no use: yield_to() would refuse it after
 * taking two runqueue locks, as it refuses a task asleep (a halted vCPU
 * waits in khyp_wait()).  yield_to() makes the scheduler run the thread
 * next and reschedules.  The search starts after the vCPU
 * the VM's last yield went to, so that two spinners do not both pick
 * the lowest id for ever, and skips vCPUs that are themselves in this
 * function (spinners, not holders).  If nothing takes the CPU the guest
 * is entered again: its next PAUSE exit tries again.
 */
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>

#include "vcpu.h"
#include "vm.h"

bool khyp_pause_exit = true;
module_param_named(pause_exit, khyp_pause_exit, bool, 0444);
MODULE_PARM_DESC(pause_exit,
		 "turn on VMX pause-loop exiting or the SVM pause filter where the CPU has it: a guest spinning on PAUSE yields its CPU to another vCPU of its VM (bool: Y or N; default Y)");

/* The thread of @c, referenced, if yielding to it could help. */
static struct task_struct *khyp_spin_target(struct khyp_vcpu *c)
{
	struct task_struct *task;

	if (!READ_ONCE(c->ready) || READ_ONCE(c->mode) == KHYP_IN_GUEST ||
	    READ_ONCE(c->spinning))
		return NULL;
	/*
	 * Set while its thread is in KHYP_RUN, which it cannot leave by
	 * exiting: the task_struct read here outlives this RCU section.
	 */
	task = READ_ONCE(c->task);
	if (!task)
		return NULL;
	get_task_struct(task);
	return task;
}

/* Give the CPU to one vCPU thread of the VM that is runnable; true if so. */
static bool khyp_spin_yield(struct khyp_vcpu *vcpu)
{
	struct khyp_vm *vm = vcpu->vm;
	unsigned int start = READ_ONCE(vm->last_boosted);
	struct task_struct *task;
	struct khyp_vcpu *c;
	unsigned int i, id;
	int r;

	for (i = 1; i <= KHYP_MAX_VCPUS; i++) {
		id = (start + i) % KHYP_MAX_VCPUS;
		if (id == vcpu->id)
			continue;
		rcu_read_lock();
		c = rcu_dereference(vm->vcpus[id]);
		task = c ? khyp_spin_target(c) : NULL;
		rcu_read_unlock();
		if (!task)
			continue;
		r = yield_to(task, true);
		put_task_struct(task);
		if (r > 0) {
			WRITE_ONCE(vm->last_boosted, id);
			return true;
		}
	}
	return false;
}

/**
 * khyp_handle_pause() - a KHYP_X_PAUSE exit: the guest spins on PAUSE
 * @vcpu:	the vCPU, in KHYP_RUN, preemptible
 *
 * Return: 1, the guest is entered again, at the same PAUSE.
 */
int khyp_handle_pause(struct khyp_vcpu *vcpu)
{
	WRITE_ONCE(vcpu->spinning, true);
	if (khyp_spin_yield(vcpu))
		vcpu->pause_yields++;
	else
		vcpu->pause_no_target++;
	WRITE_ONCE(vcpu->spinning, false);
	return 1;
}

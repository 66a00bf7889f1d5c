/* The prolog's liveness check of an InfiniBand reservation's owner, on
 * answers slurmctld gives: a job that may still run on the node keeps its
 * reservation, a job that is over or unknown to slurmctld loses it. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <slurm/slurm.h>

#include "prolog.h"

static job_info_t jobs[8];
static job_info_msg_t msg = { .record_count = 0, .job_array = jobs };

static void add(uint32_t id, uint32_t state, char *nodes)
{
	job_info_t *j = &jobs[msg.record_count++];

	memset(j, 0, sizeof(*j));
	j->job_id = id;
	j->job_state = state;
	j->nodes = nodes;
}

static void test_alive(void **state)
{
	(void)state;
	msg.record_count = 0;
	add(5, JOB_RUNNING, "n[1-2]");
	add(6, JOB_COMPLETE, "n1");
	add(7, JOB_COMPLETE | JOB_COMPLETING, "n1");
	add(8, JOB_PENDING, NULL);
	add(9, JOB_SUSPENDED, "n1");
	add(10, JOB_RUNNING | JOB_CONFIGURING, "n1");
	add(11, JOB_CANCELLED, "n1");
	add(12, JOB_RUNNING, NULL);

	assert_int_equal(svm_job_record_alive(&msg, 5, "n1"), 1);
	assert_int_equal(svm_job_record_alive(&msg, 5, "n2"), 1);
	/* running, but elsewhere: its epilog here has run */
	assert_int_equal(svm_job_record_alive(&msg, 5, "n3"), 0);
	assert_int_equal(svm_job_record_alive(&msg, 6, "n1"), 0);
	/* over, but its epilog is still to come: it will release */
	assert_int_equal(svm_job_record_alive(&msg, 7, "n1"), 1);
	/* requeued: pending again, not on any node */
	assert_int_equal(svm_job_record_alive(&msg, 8, "n1"), 0);
	assert_int_equal(svm_job_record_alive(&msg, 9, "n1"), 1);
	/* still in its prolog, booting its guest */
	assert_int_equal(svm_job_record_alive(&msg, 10, "n1"), 1);
	assert_int_equal(svm_job_record_alive(&msg, 11, "n1"), 0);
	/* running, node list unknown: assume here */
	assert_int_equal(svm_job_record_alive(&msg, 12, "n1"), 1);
	/* slurmctld no longer knows it */
	assert_int_equal(svm_job_record_alive(&msg, 42, "n1"), 0);
	assert_int_equal(svm_job_record_alive(NULL, 5, "n1"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* MPI smoke test: every rank reports where it runs, and an Allreduce of
 * the ranks checks that the ranks really talk to each other. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char host[MPI_MAX_PROCESSOR_NAME], vendor[64] = "unknown";
	int rank, size, len, sum = 0;
	FILE *f;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(host, &len);
	f = fopen("/sys/class/dmi/id/sys_vendor", "r");
	if (f) {
		if (fgets(vendor, sizeof(vendor), f))
			vendor[strcspn(vendor, "\n")] = '\0';
		fclose(f);
	}
	MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d of %d on %s (%s) allreduce %d\n", rank, size, host, vendor, sum);
	MPI_Finalize();
	return 0;
}

# Examples for admins: installed as documentation, never over a live config.
exampledir = $(docdir)/examples
dist_example_DATA = etc/vm.conf.example etc/plugstack.conf.example etc/slurm.conf.example

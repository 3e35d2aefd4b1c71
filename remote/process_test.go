package remote_test

const childEnv = "REMOTE_TEST_CHILD_NATS"

func runChild(addr string) int { return 0 }
